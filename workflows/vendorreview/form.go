package vendorreview

import (
	"strings"
	"time"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// The review form's field names.
const (
	fieldReportType      = "report_type"
	fieldPeriodStart     = "period_start"
	fieldPeriodEnd       = "period_end"
	fieldAuditFirm       = "audit_firm"
	fieldOpinion         = "opinion"
	fieldExceptions      = "exceptions"
	fieldCUECs           = "cuecs"
	fieldBridgeNeeded    = "bridge_letter_needed"
	fieldBridgeReceived  = "bridge_letter_received"
	fieldDecision        = "decision"
	fieldNote            = "note"
	fieldFollowUps       = "follow_ups"
	fieldCUECDescription = "description"
	fieldCUECControl     = "control"
	fieldFollowUpTitle   = "title"
	fieldFollowUpOwner   = "owner"
	fieldFollowUpDue     = "due"
)

// reviewForm is the reviewer's form of issue 12 item 5: what the report is,
// what it found, the CUECs we must operate (each mapped to one of the
// program's controls), the bridge letter, and the decision.
func reviewForm(controls []act.Control) *humantask.Form {
	controlChoices := make([]humantask.Choice, len(controls))
	for i, c := range controls {
		controlChoices[i] = humantask.Choice{Value: c.ID, Label: c.Title}
	}
	return &humantask.Form{For: []humantask.Action{humantask.ActionDone}, Fields: []humantask.Field{
		{Name: fieldReportType, Label: "Report type", Kind: humantask.FieldChoice, Required: true, Choices: []humantask.Choice{
			{Value: "soc1-type1", Label: "SOC 1 Type I"}, {Value: "soc1-type2", Label: "SOC 1 Type II"},
			{Value: "soc2-type1", Label: "SOC 2 Type I"}, {Value: "soc2-type2", Label: "SOC 2 Type II"},
			{Value: "soc3", Label: "SOC 3"}, {Value: "iso27001", Label: "ISO 27001 certificate"}, {Value: "other", Label: "Other"},
		}},
		{Name: fieldPeriodStart, Label: "Period start", Kind: humantask.FieldDate, Required: true},
		{Name: fieldPeriodEnd, Label: "Period end", Kind: humantask.FieldDate, Required: true,
			Help: "The next request is dated from it, so coverage has no gap."},
		{Name: fieldAuditFirm, Label: "Audit firm", Kind: humantask.FieldText, Required: true, MaxLen: 200},
		{Name: fieldOpinion, Label: "Opinion", Kind: humantask.FieldChoice, Required: true, Choices: []humantask.Choice{
			{Value: "unqualified", Label: "Unqualified"}, {Value: "qualified", Label: "Qualified"},
			{Value: "adverse", Label: "Adverse"}, {Value: "disclaimer", Label: "Disclaimer of opinion"},
		}},
		{Name: fieldExceptions, Label: "Exceptions noted", Kind: humantask.FieldText, Help: "Empty: none.", MaxLen: 5000},
		{Name: fieldCUECs, Label: "Complementary user-entity controls", Kind: humantask.FieldList, MaxItems: 30, Fields: []humantask.Field{
			{Name: fieldCUECDescription, Label: "CUEC", Kind: humantask.FieldText, Required: true, MaxLen: 1000},
			{Name: fieldCUECControl, Label: "Our control", Kind: humantask.FieldChoice, Required: true, Choices: controlChoices},
		}},
		{Name: fieldBridgeNeeded, Label: "Bridge letter needed", Kind: humantask.FieldYesNo, Required: true,
			Help: "Yes when the period ended more than 3 months ago."},
		{Name: fieldBridgeReceived, Label: "Bridge letter received", Kind: humantask.FieldYesNo,
			RequiredIf: &humantask.Condition{Field: fieldBridgeNeeded, Equals: "yes"}},
		{Name: fieldDecision, Label: "Decision", Kind: humantask.FieldChoice, Required: true, Choices: []humantask.Choice{
			{Value: act.DecisionAccept, Label: "Accept"}, {Value: act.DecisionAcceptFollowUps, Label: "Accept with follow-ups"},
			{Value: act.DecisionReject, Label: "Reject: ask the vendor again"},
		}},
		{Name: fieldNote, Label: "Note", Kind: humantask.FieldText, MaxLen: 5000,
			RequiredIf: &humantask.Condition{Field: fieldDecision, Equals: act.DecisionReject},
			Help:       "A rejection's note is sent to the vendor."},
		{Name: fieldFollowUps, Label: "Follow-ups", Kind: humantask.FieldList, MaxItems: 20,
			RequiredIf: &humantask.Condition{Field: fieldDecision, Equals: act.DecisionAcceptFollowUps}, Fields: []humantask.Field{
				{Name: fieldFollowUpTitle, Label: "What", Kind: humantask.FieldText, Required: true, MaxLen: 500},
				{Name: fieldFollowUpOwner, Label: "Owner (person ID)", Kind: humantask.FieldText, Required: true, MaxLen: 64},
				{Name: fieldFollowUpDue, Label: "Due", Kind: humantask.FieldDate, Required: true},
			}},
	}}
}

// review is a completed review form, read.
type review struct {
	decision  string
	note      string
	findings  act.Findings
	followUps []act.FollowUp
}

// readReview reads the values the form's validator admitted.
func readReview(v humantask.Values) review {
	r := review{decision: v.Fields[fieldDecision], note: strings.TrimSpace(v.Fields[fieldNote])}
	f := &r.findings
	f.ReportType, f.AuditFirm, f.Opinion = v.Fields[fieldReportType], v.Fields[fieldAuditFirm], v.Fields[fieldOpinion]
	f.Exceptions = strings.TrimSpace(v.Fields[fieldExceptions])
	f.PeriodStart, _ = v.Date(fieldPeriodStart)
	f.PeriodEnd, _ = v.Date(fieldPeriodEnd)
	f.BridgeLetterNeeded, f.BridgeLetterReceived = v.YesNo(fieldBridgeNeeded), v.YesNo(fieldBridgeReceived)
	for _, c := range v.Lists[fieldCUECs] {
		f.CUECs = append(f.CUECs, act.CUEC{Description: c[fieldCUECDescription], ControlID: c[fieldCUECControl]})
	}
	if r.decision == act.DecisionAcceptFollowUps {
		for _, fu := range v.Lists[fieldFollowUps] {
			due, _ := time.Parse(time.DateOnly, fu[fieldFollowUpDue])
			r.followUps = append(r.followUps, act.FollowUp{Title: fu[fieldFollowUpTitle], OwnerID: fu[fieldFollowUpOwner], Due: due})
		}
	}
	return r
}
