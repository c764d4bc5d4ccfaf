// Package web is the browser side of the JSON API: xmppbridge.js, a
// dependency-free client library (an ES module; docs/json-api.md), and a demo
// chat page built on it, embedded in the binary and served by Handler.
//
// The files are plain HTML, CSS and JavaScript with no build step and
// nothing loaded from elsewhere; their tests run with "node --test
// web/test/", and interop/demo_test.go drives the page in Chromium against
// a real server.
//
// Concurrency: Handler's handler serves any number of requests at once; the
// files are read-only.
package web
