package config

import (
	"slices"
	"strconv"
	"strings"
)

// Error lists every problem found in a configuration. Load, Parse and
// Validate return it as *Error; use errors.As to inspect it.
type Error struct {
	// Problems are sorted by line; problems without a line come first.
	Problems []Problem
}

// Problem is one thing wrong with a configuration. Its message never holds
// the value of a secret (a token).
type Problem struct {
	// File is the configuration file, or "" when the value did not come
	// from a file (built-in, or changed by the caller after Load).
	File string
	// Line is the 1-based line in File, or 0 when unknown.
	Line int
	// Key is the path of the key at fault, such as "limits.ring",
	// "cameras[2].url" or "allowed_origins[0]"; "" for a YAML syntax error.
	Key string
	// Msg says what is wrong and, in parentheses, what to do.
	Msg string
}

// String formats the problem as FILE:LINE: KEY: MSG, leaving out the parts
// that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error returns every problem, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// newError sorts problems by line, keeping the order of discovery within a
// line, and wraps them in an *Error.
func newError(problems []Problem) *Error {
	ps := slices.Clone(problems)
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return &Error{Problems: ps}
}
