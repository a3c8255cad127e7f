// The portal is complyflow's web front: task pages behind signed links,
// Slack interactivity, the change-request form and the JSON API. This file
// holds its dependencies and routes; main.go is its wiring.

package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/evidence"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/platform"
	"github.com/complyflow/complyflow/schema"
)

// Server holds the portal's dependencies; Handler routes to its pages.
type Server struct {
	Config config.Config
	DB     *sqlx.DB
	// Scoped connects as the portal's own role (DATABASE_PORTAL_URL), which
	// owns nothing, reads only and is subject to row-level security: the
	// signed-in pages read through it, in inScope. The pages without sign-in
	// (the signed links /t/ /a/ /v/, the change-request confirmation, Slack,
	// the connector callback) keep DB: their token names the one person and
	// the one thing they may act on, and they write (tasks, signatures,
	// uploads, the audit log), which the portal role may not. The sign-in
	// itself uses DB too: it reads the credentials before anyone is known.
	Scoped *sqlx.DB
	// SSO is the OpenID Connect provider; nil: single sign-on is off.
	SSO      *SSO
	Temporal client.Client
	Logger   *slog.Logger
	// Mailer sends the portal's own mail: the link confirming a change
	// request made in the portal.
	Mailer *notify.Mailer
	// Evidence stores uploaded reports; nil: Postgres (evidence.Postgres on DB).
	Evidence evidence.Store
	// Extra routes mounted by the embedded mode (the dev mail viewer).
	Extra map[string]http.Handler
	// Signatures records the campaigns' signatures (campaign.go). main.go
	// makes it, and closes it after the HTTP server's shutdown so the batch
	// in flight is written; Handler makes one when it is nil (tests).
	Signatures *campaign.Recorder

	// signer makes and checks the links, built once by Handler; signerErr
	// (no usable key) refuses every link instead of failing start-up.
	signer    *links.Signer
	signerErr error
	// The change-request form's rate limits, built by Handler (ratelimit.go).
	perRequester, perAddress *limiter
	// Sign-in and reset attempts per client address (signin.go).
	signinLimiter *limiter
}

// Handler is the portal's HTTP routing.
func (s *Server) Handler() http.Handler {
	s.signer, s.signerErr = links.NewSigner(s.Config.LinkSigningKeys)
	s.perRequester, s.perAddress = newLimiter(changeRequestPerRequester), newLimiter(changeRequestPerAddress)
	if s.Signatures == nil {
		s.Signatures = campaign.NewRecorder(s.DB)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	s.signinLimiter = newLimiter(signinPerAddress)
	mux.HandleFunc("GET /signin", s.signinGet)
	mux.HandleFunc("POST /signin", s.signinPost)
	mux.HandleFunc("POST /signout", s.requireRole(s.signout))
	mux.HandleFunc("GET /signin/sso", s.ssoStart)
	mux.HandleFunc("GET /signin/sso/callback", s.ssoCallback)
	mux.HandleFunc("GET "+accounts.LinkPath+"{token}", s.accountLinkGet)
	mux.HandleFunc("POST "+accounts.LinkPath+"{token}", s.accountLinkPost)
	mux.HandleFunc("GET /account/reset", s.accountResetGet)
	mux.HandleFunc("POST /account/reset", s.accountResetPost)
	mux.HandleFunc("GET /{$}", s.requireRole(s.home))
	mux.HandleFunc("GET /policies", s.requireRole(s.policies))
	// The auditor's views (issue 16): auditors and officers (auditor*.go, api.go).
	mux.HandleFunc("GET /records", s.requireRole(s.records, RoleAuditor, RoleOfficer))
	mux.HandleFunc("GET /records/{id}", s.requireRole(s.record, RoleAuditor, RoleOfficer))
	mux.HandleFunc("GET /records/{id}/evidence/{sha256}", s.requireRole(s.recordEvidence, RoleAuditor, RoleOfficer))
	mux.HandleFunc("GET /records/export", s.requireRole(s.recordsExport, RoleAuditor, RoleOfficer))
	mux.HandleFunc("GET /records/pack", s.requireRole(s.recordsPack, RoleAuditor, RoleOfficer))
	mux.HandleFunc("GET /records/population", s.requireRole(s.population, RoleAuditor, RoleOfficer))
	s.apiRoutes(mux)
	mux.HandleFunc("GET /change-requests/new", s.changeRequestNew)
	mux.HandleFunc("POST /change-requests/new", s.changeRequestCreate)
	mux.HandleFunc("GET /change-requests/confirm/{token}", s.changeRequestConfirmGet)
	mux.HandleFunc("POST /change-requests/confirm/{token}", s.changeRequestConfirmPost)
	mux.HandleFunc("GET /t/{token}", s.taskGet)
	mux.HandleFunc("POST /t/{token}", s.taskPost)
	mux.HandleFunc("GET /a/{token}", s.campaignGet)
	mux.HandleFunc("POST /a/{token}", s.campaignPost)
	mux.HandleFunc("GET /t/{token}/evidence/{sha256}", s.taskEvidence)
	mux.HandleFunc("GET /v/{token}", s.vendorUploadGet)
	mux.HandleFunc("POST /slack/interactions", s.slackInteraction)
	mux.HandleFunc("POST /connector/callback/{token}", s.connectorCallback)
	mux.HandleFunc("GET /dashboard", s.requireRole(s.dashboardGet, RoleOfficer))
	mux.HandleFunc("GET /team", s.requireRole(s.teamGet, RoleManager, RoleOfficer))
	mux.HandleFunc("GET /offboarding/new", s.requireRole(s.offboardingNewGet, RoleManager, RoleOfficer))
	mux.HandleFunc("POST /offboarding/new", s.requireRole(s.offboardingNewPost, RoleManager, RoleOfficer))
	mux.HandleFunc("GET /offboarding/{person}/status", s.requireRole(s.offboardingStatus, RoleManager, RoleOfficer))
	for pattern, h := range s.Extra {
		mux.Handle(pattern, h)
	}
	if s.Evidence == nil {
		s.Evidence = &evidence.Postgres{DB: s.DB}
	}
	if s.Config.EvidenceMaxBytes <= 0 {
		s.Config.EvidenceMaxBytes = config.DefaultEvidenceMaxBytes
	}
	// An upload has its own limit (EVIDENCE_MAX_BYTES): a vendor's report
	// (vendorUploadPost) and a task form's files (taskPostLimited); every
	// other body is capped at maxBodyBytes.
	outer := http.NewServeMux()
	outer.HandleFunc("POST /v/{token}", s.vendorUploadPost)
	outer.HandleFunc("POST /t/{token}", s.taskPostLimited)
	outer.Handle("/", limitBodies(mux))
	// CSRF (issue 15 item 2): a state-changing request a browser marks as
	// cross-site (Sec-Fetch-Site, or an Origin that is not the portal's) is
	// refused with 403 on every route. Slack and the connectors post from
	// servers, which send neither header, and carry their own signatures.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.refuseCrossOrigin))
	return securityHeaders(csrf.Handler(s.withSession(outer)))
}

type health struct {
	Status string `json:"status"`
	Schema string `json:"schema"`
	Build  string `json:"build"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := health{Status: "ok", Build: platform.Version}
	v, err := schema.Current(r.Context(), s.DB)
	status := http.StatusOK
	if err != nil {
		h.Status, status = "database unavailable", http.StatusServiceUnavailable
		s.Logger.Warn("healthz: database", "err", err)
	} else if v != schema.Latest() {
		h.Status, status = "schema behind: run `starter migrate`", http.StatusServiceUnavailable
	}
	h.Schema = v
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(h)
}
