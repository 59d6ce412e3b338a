// A driver's reservations, live: the reservation stream /ws/reservations/ (docs/live.md), or,
// while the socket cannot be had (refused, closed, an error frame), polling the API every few
// seconds. Either way the page hears of each reservation as the API now shows it.
//
//   watchReservations({
//     credentials: {token} or {reservation: id, email},
//     onReservations(list),          // the snapshot: on authenticating, and each poll
//     onEvent(event, reservation),   // a change: created, confirmed, amended, reminder_sent, ...
//     poll: async () => list | null, // the fallback's read of the same reservations
//   }) → {stop()}

const POLL_MS = 5000;
const PING_MS = 25000;
// After a failure the socket is tried again, less and less often, while polling goes on.
const RETRY_MS = [2000, 5000, 15000, 30000];

export function watchReservations({ credentials, onReservations, onEvent, poll }) {
  let socket = null;
  let pollTimer = null;
  let pingTimer = null;
  let retryTimer = null;
  let failures = 0;
  let stopped = false;

  function startPolling() {
    if (pollTimer || stopped) return;
    const tick = async () => {
      const list = await poll();
      if (list && !stopped) onReservations(list);
    };
    tick();
    pollTimer = setInterval(tick, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function failed() {
    clearInterval(pingTimer);
    if (socket) {
      socket.onclose = socket.onerror = socket.onmessage = null;
      try {
        socket.close();
      } catch {
        // already closed
      }
      socket = null;
    }
    if (stopped) return;
    startPolling();
    const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
    failures += 1;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, wait);
  }

  function connect() {
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    try {
      socket = new WebSocket(`${scheme}//${location.host}/ws/reservations/`);
    } catch {
      failed();
      return;
    }
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "authenticate", ...credentials }));
      pingTimer = setInterval(() => socket?.send(JSON.stringify({ type: "ping" })), PING_MS);
    };
    socket.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === "authenticated") {
        const reconnected = failures > 0;
        failures = 0;
        stopPolling();
        onReservations(frame.reservations || []);
        // The snapshot holds live reservations only: after a gap, read the rest once.
        if (reconnected) poll().then((list) => list && !stopped && onReservations(list));
      } else if (frame.type === "reservation" && frame.reservation) {
        onEvent(frame.event, frame.reservation);
      } else if (frame.type === "error") {
        failed();
      }
    };
    socket.onerror = failed;
    socket.onclose = failed;
  }

  connect();
  return {
    stop() {
      stopped = true;
      stopPolling();
      clearTimeout(retryTimer);
      failed();
    },
  };
}
