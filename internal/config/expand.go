package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} in s with values from getenv,
// and $$ with a single $. Any other $ is kept as it is, so a password such
// as pa$word needs no escaping. An empty value counts as unset, as with the
// shell's :- (getenv cannot tell the two apart).
//
// Expansion is done once, on a scalar the YAML parser has already read: a
// variable's value is never expanded again and can never add YAML syntax.
// Error messages name the variable but never quote s or a value, since s
// may be a secret.
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New(`"${" has no closing "}" (write ${NAME}, or $$ for a literal $)`)
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				return "", errors.New(`invalid variable reference in ${…} (write ${NAME} or ${NAME:-default}, ` +
					`NAME being letters, digits and _; write $$ for a literal $)`)
			}
			v := getenv(name)
			if v == "" {
				if !hasDef {
					return "", fmt.Errorf("environment variable %s is not set (export it or write ${%s:-value})", name, name)
				}
				v = def
			}
			b.WriteString(v)
			s = s[i+2+end+1:]
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

// validEnvName reports whether name is a portable environment variable
// name: a letter or _, then letters, digits and _.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
