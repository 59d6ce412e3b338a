// What is available now in the map's box, kept live by `/ws/availability/` (docs/live.md).
// Every message says which range of events it covers (`from_seq`..`seq`); one that does not
// start where the last ended means something was missed, so we ask again from our last `seq`
// and the server replays the gap (or sends a fresh snapshot). After a reconnect we do the same.
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];
// Errors that mean "this box is more than the feed serves": the page falls back to the search.
const BOX_REFUSED = new Set(["bbox_too_large", "too_many_spots", "bad_bbox"]);

export function liveAvailability({ onSnapshot, onChanges, onState }) {
  let socket = null;
  let box = null;
  let seq = null;
  let awaitingSnapshot = false; // after a new box: what arrives before its snapshot is about the old one
  let resyncing = false; // asked to replay a gap: ignore out-of-order messages until it comes
  let retries = 0;
  let retryTimer = null;
  let stopped = true;

  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function subscribe(since) {
    awaitingSnapshot = since === null;
    resyncing = since !== null;
    send({ type: "subscribe", bbox: box, since });
  }

  function receive(message) {
    if (message.type === "snapshot") {
      awaitingSnapshot = resyncing = false;
      seq = message.seq;
      onSnapshot(message.spots);
      onState("live");
    } else if (message.type === "changes") {
      if (awaitingSnapshot) return;
      if (message.from_seq !== seq) {
        if (!resyncing) subscribe(seq);
        return;
      }
      resyncing = false;
      seq = message.seq;
      onChanges(message);
      onState("live");
    } else if (message.type === "error") {
      if (BOX_REFUSED.has(message.code)) onState("box-refused");
      else if (message.code === "bad_since") subscribe(null);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/availability/`);
    socket.addEventListener("open", () => {
      retries = 0;
      // Same box as before the drop: resume from our last seq, nothing missed in between.
      if (box) subscribe(seq);
    });
    socket.addEventListener("message", (event) => {
      try {
        receive(JSON.parse(event.data));
      } catch {
        // A frame we cannot read changes nothing; the next message's from_seq tells us if we
        // missed something.
      }
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (stopped) return;
      retryTimer = setTimeout(connect, RETRY_MS[Math.min(retries++, RETRY_MS.length - 1)]);
      onState("down"); // last: the page may stop us, which cancels the retry
    });
  }

  return {
    // Follow this box: a snapshot of it, then its changes.
    watch(newBox) {
      box = newBox;
      seq = null;
      stopped = false;
      if (!socket) connect(); // subscribes once open
      else subscribe(null);
    },
    stop() {
      stopped = true;
      box = null;
      clearTimeout(retryTimer);
      socket?.close();
      socket = null;
    },
  };
}
