// A client for /ws/stream/ that signs in with the page's session, re-subscribes after a
// reconnect and asks for what it missed (`since` the last event id it saw).
"use strict";

class AttuneStream {
  constructor(filter, { onEvent, onState }) {
    this.filter = filter;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.lastId = null;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.socket = new WebSocket(`${scheme}://${location.host}/ws/stream/`);
    this.socket.onopen = () => this.onState("open");
    this.socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    this.socket.onclose = () => {
      this.onState("closed");
      setTimeout(() => this.connect(), 2000);
    };
  }

  receive(message) {
    if (message.type === "welcome") {
      this.subscribe();
    } else if ("entity" in message) {
      this.lastId = message.id;
      this.onEvent(message);
    }
  }

  subscribe() {
    const request = { type: "subscribe", filter: this.filter };
    if (this.lastId !== null) request.since = this.lastId;
    this.socket.send(JSON.stringify(request));
  }

  refilter(filter) {
    this.socket.send(JSON.stringify({ type: "unsubscribe", filter: this.filter }));
    this.filter = filter;
    this.socket.send(JSON.stringify({ type: "subscribe", filter: this.filter }));
  }
}
