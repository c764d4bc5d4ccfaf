//go:build integration && race

package interop

// raceBuild says the tests run under -race: the daemon they start is
// built with it too.
const raceBuild = true
