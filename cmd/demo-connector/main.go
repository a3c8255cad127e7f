// Command demo-connector is the other end of the demo inventory's
// connectors (demo/systems.csv), for trying offboarding by hand: a webhook
// receiver on 127.0.0.1:8090 that checks X-Complyflow-Signature with
// CONNECTOR_SIGNING_KEY and answers {"status":"removed"} (or, with
// -accept, {"status":"accepted"} and then POSTs {"status":"removed"} to the
// callback URL a few seconds later), and a SCIM 2.0 service on
// 127.0.0.1:8091 that knows every user asked for and deactivates them,
// checking the bearer token SCIM_TOKEN_OKTA. It logs each request. `make
// run` does not need it.
package main

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	act "github.com/complyflow/complyflow/activities/offboarding"
)

func main() {
	hooks := flag.String("addr", "127.0.0.1:8090", "webhook listen address (POST /hooks/{system})")
	scim := flag.String("scim-addr", "127.0.0.1:8091", "SCIM listen address (/scim/v2/Users)")
	accept := flag.Bool("accept", false, `answer {"status":"accepted"} and confirm on the callback URL 5 s later`)
	flag.Parse()
	key, token := os.Getenv("CONNECTOR_SIGNING_KEY"), os.Getenv("SCIM_TOKEN_OKTA")
	if key == "" || token == "" {
		log.Fatal("set CONNECTOR_SIGNING_KEY and SCIM_TOKEN_OKTA, the same values as the worker's")
	}
	go func() { log.Fatal(http.ListenAndServe(*scim, scimHandler(token))) }()
	log.Printf("webhooks on http://%s/hooks/{system}, SCIM on http://%s/scim/v2", *hooks, *scim)
	log.Fatal(http.ListenAndServe(*hooks, hookHandler([]byte(key), *accept)))
}

func hookHandler(key []byte, accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if !verified(key, r.Header.Get(act.SignatureHeader), body) {
			log.Printf("%s: signature does not verify: 401", r.URL.Path)
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		var ev act.WebhookEvent
		json.Unmarshal(body, &ev)
		log.Printf("%s: remove %s (%s) from %s after %s", r.URL.Path, ev.Person.ID, ev.Person.Email, ev.System, ev.LastDay)
		if !accept {
			io.WriteString(w, `{"status":"removed"}`)
			return
		}
		io.WriteString(w, `{"status":"accepted"}`)
		go func() {
			time.Sleep(5 * time.Second)
			resp, err := http.Post(ev.CallbackURL, "application/json", bytes.NewReader([]byte(`{"status":"removed"}`)))
			if err != nil {
				log.Printf("callback for %s: %v", ev.System, err)
				return
			}
			resp.Body.Close()
			log.Printf("callback for %s: %s", ev.System, resp.Status)
		}()
	}
}

// verified checks t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, t within 5 minutes.
func verified(key []byte, header string, body []byte) bool {
	var ts int64
	var sig string
	for _, kv := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "t":
			fmt.Sscan(v, &ts)
		case "v1":
			sig = v
		}
	}
	at := time.Unix(ts, 0)
	want := act.Signature(key, at, body)
	return hmac.Equal([]byte(want), []byte(fmt.Sprintf("t=%d,v1=%s", ts, sig))) && time.Since(at).Abs() < 5*time.Minute
}

func scimHandler(token string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"detail":"bad token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/scim+json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users":
			// filter=userName eq "someone@example.com": every user exists here.
			name := strings.Trim(strings.TrimPrefix(r.URL.Query().Get("filter"), "userName eq "), `"`)
			log.Printf("SCIM: find %s", name)
			json.NewEncoder(w).Encode(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
				"totalResults": 1, "Resources": []map[string]any{{"id": name, "userName": name, "active": true}}})
		case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/scim/v2/Users/"):
			id := strings.TrimPrefix(r.URL.Path, "/scim/v2/Users/")
			log.Printf("SCIM: deactivate %s", id)
			json.NewEncoder(w).Encode(map[string]any{"id": id, "userName": id, "active": false})
		default:
			http.NotFound(w, r)
		}
	}
}
