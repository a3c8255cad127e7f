package main

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// maxBodyBytes bounds every request body (forms and Slack interactions).
// The largest form, a change request at its field caps, fits well within it.
const maxBodyBytes = 1 << 20

// limitBodies refuses a body over maxBodyBytes: at once when it says its
// length, else when reading passes the limit (http.MaxBytesReader).
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			tooLarge(w)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("The request is larger than the portal accepts (%d KiB).", maxBodyBytes>>10), http.StatusRequestEntityTooLarge)
}

// parseForm parses a POST's form, answering 413 or 400 itself when it
// cannot; it reports whether the handler may go on.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	err := r.ParseForm()
	if err == nil && isMultipart(r) {
		// Files beyond 1 MiB wait on disk, within the upload's body limit.
		err = r.ParseMultipartForm(1 << 20)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		tooLarge(w)
		return false
	case err != nil:
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	return true
}

// A change request's fields are at most this many characters.
var changeRequestFieldCaps = []struct {
	label string
	max   int
	value func(changeRequestForm) string
}{
	{"Your person ID", 64, func(f changeRequestForm) string { return f.Requester }},
	{"Policy", 64, func(f changeRequestForm) string { return f.PolicyID }},
	{"Summary", 1000, func(f changeRequestForm) string { return f.Summary }},
	{"Proposed text", 100_000, func(f changeRequestForm) string { return f.Text }},
	{"Reference", 2000, func(f changeRequestForm) string { return f.Reference }},
}

// fieldCapErrors names each field longer than its cap, and the cap.
func fieldCapErrors(f changeRequestForm) []string {
	var errs []string
	for _, c := range changeRequestFieldCaps {
		if n := utf8.RuneCountInString(c.value(f)); n > c.max {
			errs = append(errs, fmt.Sprintf("%s is %d characters long; at most %d are accepted.", c.label, n, c.max))
		}
	}
	return errs
}
