// Package jsonerr helps say where and why encoding/json refused a
// document, in the words of a person who wrote JSON rather than Go: the
// line and column of a syntax error, and the JSON kind a field needed.
// The API's request bodies and flow definitions report their decoding
// errors with it.
package jsonerr

import "strings"

// Position returns the 1-based line and column of a json.SyntaxError's
// Offset in body. The offset counts the bytes read before the error, so
// the position is that of the last byte read: the one that was wrong.
func Position(body []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset-1 && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Kind names the JSON kind that decodes into the Go type named goType
// (a json.UnmarshalTypeError's Type.String()): "an array", "an object",
// "a number", "a boolean" or "a string".
func Kind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "a boolean"
	}
	return "a " + goType
}
