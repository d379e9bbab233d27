"""Start a fuzz hub and print the schemathesis command that fuzzes it (the long form).

    .venv/bin/python -m tests.hub.fuzz.serve [--dir DIR] [--examples 500] [--interval-seconds 5]

The hub (`python -m hub serve`, ledger on, one enrolled home) runs until Ctrl-C; the printed
command runs every phase against it with the signing hooks. Run the command in another shell.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import tempfile
import time
from pathlib import Path

from tests.hub.fuzz.harness import REPO, FuzzHub
from tests.hub.fuzz.runner import fuzz_command, fuzz_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, help="working directory (default: a temporary one)")
    parser.add_argument("--examples", type=int, default=500, help="max examples per operation")
    parser.add_argument("--interval-seconds", type=int, default=5)
    parser.add_argument("--market-mode", default="periodic", choices=["periodic", "continuous"])
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="gridcoop-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    hub = FuzzHub(work, interval_seconds=args.interval_seconds, market_mode=args.market_mode)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the hub on kill too
    hub.start()
    state = hub.write_state(work / "state.json")
    env = fuzz_env(state, work / "known-bugs.log", args.interval_seconds)
    command = fuzz_command(hub, work, args.examples, seed=None)
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    print(f"hub: {hub.base_url} (log {hub.log_path})")
    print("fuzz it from the repository root with:\n")
    print(f"cd {REPO} && {exports} \\\n  {shlex.join(command)}\n")
    try:
        while hub.process is not None and hub.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


if __name__ == "__main__":
    main()
