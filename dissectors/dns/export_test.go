package dns

// WalkName exposes walkName to the external tests (package dns_test, which
// keeps the tests out of the import cycle dtest → dataplane → registry →
// dns).
var WalkName = walkName
