// Package api is Tickerd's HTTP surface: the chi router that mounts the
// transports, the REST handlers (snapshot, topics, publish), the middleware
// around them, and the health and metrics endpoints. Every handler is a
// plain http.Handler.
package api
