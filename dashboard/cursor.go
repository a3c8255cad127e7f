package dashboard

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Cursor is where a page of open items ends: the last item's sort key
// (due, kind, ID, person). The next page starts after it, so a page costs
// the same however deep it is (keyset paging, not OFFSET).
type Cursor struct {
	Due    time.Time
	Kind   string // KindAssignment sorts before KindTask at one due time
	ID     string // the task's ID, or the assignment's campaign
	Person string // the assignment's person; empty for a task
}

// String is the cursor as a URL parameter value.
func (c Cursor) String() string {
	raw := strings.Join([]string{strconv.FormatInt(c.Due.UnixMicro(), 10), c.Kind, c.ID, c.Person}, "\x00")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// errCursor is the refusal of a cursor this package did not make.
var errCursor = errors.New("not a page marker from this list: open the first page again")

// ParseCursor reads a Cursor made by String.
func ParseCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, errCursor
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[2] == "" {
		return Cursor{}, errCursor
	}
	micros, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Cursor{}, errCursor
	}
	c := Cursor{Due: time.UnixMicro(micros).UTC(), Kind: parts[1], ID: parts[2], Person: parts[3]}
	switch {
	case c.Kind == KindTask && c.Person == "", c.Kind == KindAssignment && c.Person != "":
		return c, nil
	default:
		return Cursor{}, errCursor
	}
}
