// Package shape holds the code to the shape its design asks for: its test
// fails when a function grows past 80 lines, when the engine (package
// crawler) grows past 1,200 lines, or when the engine names a concrete
// frontier or store. It has no code of its own.
package shape
