// The hub's public WebSocket (/api/v1/ws): "interval_cleared" news as it happens.
// Reconnects with a growing delay (1 s .. 30 s); onState gets "connecting", "live" or "offline".

export function connectLive({ onMessage, onState }) {
  let delay = 1000;
  let opened = false;

  function open() {
    onState("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    socket.addEventListener("open", () => {
      delay = 1000;
      onState("live", { reconnected: opened });
      opened = true;
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(message);
    });
    socket.addEventListener("close", () => {
      onState("offline");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  open();
}
