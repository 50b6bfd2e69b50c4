// Type declarations for ticker.js and ticker-widget.js, the Tickerd browser
// scripts (docs/protocol.md has the wire format). The scripts define the
// global Tickerd; reference this file, or copy it, to type it:
//
//   /// <reference path="ticker.d.ts" />
//   const c = new Tickerd.Client("https://host", { getToken: cb => cb(null, jwt) });
//
// tools/tscheck/example.ts uses every declaration; `make ts-check` compiles it.

declare namespace Tickerd {
  /** "connecting", "open/ws", "open/sse", "open/poll" or "offline". */
  type Status = "connecting" | "open/ws" | "open/sse" | "open/poll" | "offline";

  type Transport = "ws" | "sse" | "poll";

  /** Answers a getToken call: an error (anything but null or undefined), or a token. */
  type TokenCallback = (err: unknown, token?: string) => void;

  /** Gives an access token (a JWT) for the next connection or renewal. */
  type GetToken = (callback: TokenCallback) => void;

  interface ClientOptions {
    /** A static access token, sent as ?token=. */
    token?: string;
    /** Called before every connect and renewal; wins over token. */
    getToken?: GetToken;
    /** Transports to try, in order: an array or "ws,sse,poll". Default all three. */
    transports?: Transport[] | string;
    /** ms to wait for a stream's hello before trying the next transport. Default 5000. */
    helloTimeout?: number;
    /** ms between probes back to WebSocket while on a fallback. Default 30000. */
    probeInterval?: number;
    /** Backoff bounds in ms: random(0, min(maxBackoff, minBackoff * 2^attempt)). Defaults 500, 15000. */
    minBackoff?: number;
    maxBackoff?: number;
    /** A long poll's timeout in seconds. Default 25. */
    pollTimeout?: number;
    /** At most this many updates a second of each state topic (max_rate; fractions allowed; 0: no limit). Events are never held. Default 0. */
    maxRate?: number;
    /** false: this client never shares its tab's connection with other tabs. Default true. */
    share?: boolean;
    /** ms a connection must stay up, if it delivers no data, to count as working. Default 10000. */
    stableTime?: number;
  }

  /** An update, as every transport delivers it. */
  interface Update<T = unknown> {
    type: "update";
    topic: string;
    kind: "state" | "event";
    data: T;
    /** RFC 3339, when the feed published it. */
    time: string;
    /** The position just after this message; opaque. */
    cursor: string;
    /** State updates only: how many older updates this one replaced. */
    merged?: number;
    /** Set when it came from a snapshot rather than live. */
    snapshot?: boolean;
  }

  interface Snapshot {
    type: "snapshot";
    cursor: string;
    reset: boolean;
    items: Update[];
  }

  /** An error from the server, or code "bad_topic" / "get_token" from the client. */
  interface ErrorMessage {
    type: "error";
    code: string;
    message: string;
    id?: number;
  }

  interface Subscription {
    /** The patterns it holds. */
    readonly topics: string[];
    /** False once unsubscribed or its client closed. */
    readonly active: boolean;
    unsubscribe(): void;
  }

  interface Client {
    /** The server's base URL, without a trailing slash. */
    readonly url: string;
    /** The transport in use, or null. */
    readonly transport: Transport | null;
    /** The last cursor seen; every reconnect resumes from it. */
    readonly cursor: string;
    readonly status: Status | null;
    subscribe<T = unknown>(topics: string | string[], fn?: (update: Update<T>) => void): Subscription;
    on(event: "status", fn: (status: Status) => void): this;
    on(event: "error", fn: (error: ErrorMessage) => void): this;
    /** A snapshot with reset: true: updates were missed. */
    on(event: "reset", fn: (snapshot: Snapshot) => void): this;
    close(): void;
  }

  interface ClientConstructor {
    /** url: the server, "" for this page's origin. */
    new (url?: string, options?: ClientOptions): Client;
    (url?: string, options?: ClientOptions): Client;
    readonly prototype: Client;
  }

  const Client: ClientConstructor;

  /** NATS matching: "*" is one token, ">" one or more at the end. */
  function match(pattern: string, topic: string): boolean;

  /** ticker-widget.js. */
  namespace Widget {
    /** The widget of an element with data-tickerd-topics, made if need be. */
    function mount(host: HTMLElement): object;
    /** Mounts every [data-tickerd-topics] element not mounted yet. */
    function scan(): void;
    /** The client the widgets of one server, transports, token and rate share. */
    function client(url?: string, transports?: string, token?: string, hook?: string, maxRate?: string | number): Client;
  }
}

interface Window {
  Tickerd: typeof Tickerd;
  /** The widget's default token hook (data-tickerd-get-token names another). */
  TickerdGetToken?: Tickerd.GetToken;
}
