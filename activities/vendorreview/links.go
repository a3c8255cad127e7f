package vendorreview

import (
	"strings"
	"time"

	"github.com/complyflow/complyflow/internal/links"
)

// linkClaims are an upload link's: recipient may upload the report of the
// cycle reviewID until expires.
func linkClaims(reviewID, recipient string, expires time.Time) links.Claims {
	return links.Claims{Subject: reviewID, PersonID: recipient, Expires: expires}
}

// IsUploadLink reports whether verified claims are an upload link's (their
// subject a vendor review cycle), not a task's.
func IsUploadLink(c links.Claims) bool { return strings.HasPrefix(c.Subject, Process+"/") }
