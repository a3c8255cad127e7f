package offboarding

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
)

// scimPatchActive is the SCIM 2.0 PatchOp (RFC 7644 §3.5.2) that
// deactivates a user.
var scimPatchActive = []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` +
	`"Operations":[{"op":"replace","path":"active","value":false}]}`)

// SCIMInput asks a system's SCIM 2.0 service to deprovision the person.
type SCIMInput struct {
	PersonID string
	SystemID string
}

// SCIMDeprovision finds the user by userName (the person's email) and
// PATCHes active=false: removed, or no_account when no user matches. A 4xx
// is refused; a 5xx or a network error is an error, for the retry policy.
func (a *Activities) SCIMDeprovision(ctx context.Context, in SCIMInput) (ConnectorResult, error) {
	var sys struct {
		Base     string `db:"scim_base_url"`
		TokenEnv string `db:"scim_token_env"`
	}
	if err := a.DB.GetContext(ctx, &sys, `SELECT scim_base_url, scim_token_env FROM systems WHERE id = $1 AND removal_method = 'scim'`,
		in.SystemID); err != nil {
		return ConnectorResult{}, fmt.Errorf("SCIM settings of %s: %w", in.SystemID, err)
	}
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	token := getenv(sys.TokenEnv)
	if token == "" {
		return ConnectorResult{Status: ConnectorRefused, Reason: fmt.Sprintf("the SCIM bearer token %s is not set in the worker's environment", sys.TokenEnv)}, nil
	}
	p, err := directory.LookupPerson(ctx, a.DB, in.PersonID)
	if err != nil {
		return ConnectorResult{}, err
	}
	if p.Email == "" {
		return ConnectorResult{Status: ConnectorRefused, Reason: fmt.Sprintf("%s has no email in the directory to find their SCIM user by", p.ID)}, nil
	}
	base := strings.TrimRight(sys.Base, "/")
	filter := fmt.Sprintf(`userName eq "%s"`, strings.ReplaceAll(p.Email, `"`, `\"`))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/Users?filter="+url.QueryEscape(filter), nil)
	if err != nil {
		return ConnectorResult{}, refusal.New("scim_base_url of %s: %v", in.SystemID, err)
	}
	code, body, err := a.scim(req, token)
	if err != nil {
		return ConnectorResult{}, fmt.Errorf("SCIM of %s: %w", in.SystemID, err)
	}
	if code >= 300 {
		return ConnectorResult{Status: ConnectorRefused, Code: code, BodySHA256: Digest(body),
			Reason: fmt.Sprintf("the SCIM search answered %d: %s", code, excerpt(body))}, nil
	}
	var found struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(body, &found); err != nil {
		return ConnectorResult{Status: ConnectorRefused, Code: code, BodySHA256: Digest(body),
			Reason: fmt.Sprintf("the SCIM search answered something that is not a ListResponse: %s", excerpt(body))}, nil
	}
	switch {
	case found.TotalResults == 0 || len(found.Resources) == 0:
		return ConnectorResult{Status: ConnectorNoAccount, Code: code, BodySHA256: Digest(body)}, nil
	case len(found.Resources) > 1:
		return ConnectorResult{Status: ConnectorRefused, Code: code, BodySHA256: Digest(body),
			Reason: fmt.Sprintf("the SCIM search found %d users named %s", len(found.Resources), p.Email)}, nil
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPatch, base+"/Users/"+url.PathEscape(found.Resources[0].ID), bytes.NewReader(scimPatchActive))
	if err != nil {
		return ConnectorResult{}, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	code, body, err = a.scim(req, token)
	if err != nil {
		return ConnectorResult{}, fmt.Errorf("SCIM of %s: %w", in.SystemID, err)
	}
	res := ConnectorResult{Status: ConnectorRemoved, Code: code, BodySHA256: Digest(body)}
	if code >= 300 {
		res.Status, res.Reason = ConnectorRefused, fmt.Sprintf("the SCIM PATCH answered %d: %s", code, excerpt(body))
	}
	return res, nil
}

func (a *Activities) scim(req *http.Request, token string) (int, []byte, error) {
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/scim+json")
	return a.do(req)
}
