package directory

import "regexp"

// IDRule is what ValidID accepts, in words, for error messages.
const IDRule = "use letters, digits, '.', '_' and '-' only, starting with a letter or digit"

// idPattern is the one definition of an ID, for people, systems and vendors
// here and for the program file's policies, controls and obligations. IDs
// travel inside signed task links (internal/links joins them with "\x1f"),
// workflow IDs, URLs and CSV exports, so none may hold a separator, a space,
// a slash or a control character.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidID reports whether id is a well-formed ID (see IDRule).
func ValidID(id string) bool { return idPattern.MatchString(id) }
