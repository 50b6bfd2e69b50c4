// Package wire owns every byte and code of Tickerd's contract with its
// clients, as docs/protocol.md states it: the server messages and how each
// transport frames them, the HTTP envelopes, client commands, request
// parsing, and the one error table that gives each named error its code,
// HTTP status, WebSocket close code and SSE ending.
//
// Nothing else in the gateway writes protocol JSON or spells a code: the
// hub and the transports build their answers from this package, so a change
// to the contract is a change here (and in docs/protocol.md).
//
// Messages are encoded once: an update's Frame is built when the hub
// receives it and the same bytes go to every subscriber.
package wire
