package main

import "net/http"

// contentSecurityPolicy is every page's: the portal's pages load nothing
// (their styles are inline), post their forms only to the portal, and nobody
// may frame them (they act on a click).
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the security headers on every response, errors and
// 404s included, before the handler writes anything. The task and
// confirmation pages carry their token in the URL: no-referrer and no-store
// keep it out of other sites' logs and of caches.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
