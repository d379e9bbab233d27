// In-browser check of a ledger inclusion proof, mirroring hub/ledger/merkle.py: leaves are
// SHA-256(0x00 || canonical JSON of the entry), inner nodes SHA-256(0x01 || left || right), and
// the last node of an odd level is carried up unchanged. Needs Web Crypto (HTTPS or localhost).

export const canVerify = () => Boolean(globalThis.crypto?.subtle);

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

async function sha256(...parts) {
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

/** Canonical JSON as hub.protocol.canonical writes it: sorted keys, no spaces, UTF-8. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export async function entryHash(entry) {
  return hex(await sha256(Uint8Array.of(0), new TextEncoder().encode(canonical(entry))));
}

/** The root a proof leads to, or null when it does not fit a tree of `count` leaves. */
export async function rootFromProof(leafHex, index, count, proof) {
  if (!(index >= 0 && index < count)) return null;
  let node = unhex(leafHex);
  const remaining = proof.map(unhex);
  while (count > 1) {
    if (index % 2 === 0 && index === count - 1) {
      // carried up unchanged
    } else if (!remaining.length) {
      return null;
    } else if (index % 2 === 0) {
      node = await sha256(Uint8Array.of(1), node, remaining.shift());
    } else {
      node = await sha256(Uint8Array.of(1), remaining.shift(), node);
    }
    index = Math.floor(index / 2);
    count = Math.ceil(count / 2);
  }
  return remaining.length ? null : hex(node);
}

/** Check GET /api/v1/ledger/entries/{hash}: {entryOk, rootOk}. */
export async function checkProof(answer) {
  const entryOk = (await entryHash(answer.entry)) === answer.hash;
  const block = answer.block;
  const root = block
    ? await rootFromProof(answer.hash, answer.index, block.entry_count, answer.proof)
    : null;
  return { entryOk, rootOk: block !== null && root === block.merkle_root };
}
