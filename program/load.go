package program

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	campaignact "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/policy"
	"github.com/complyflow/complyflow/registry"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/policyreview"
	"github.com/complyflow/complyflow/workflows/riskassessment"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// Options says what a program file may refer to.
type Options struct {
	// Processes maps the process names an obligation may start to workflow
	// types; nil means the registry's scheduled processes.
	Processes map[string]string
	// People is the directory's person IDs; every person the file names must
	// be among them. nil skips the check (no directory at hand).
	People map[string]bool
	// Now is where interval checks start; zero means time.Now().
	Now time.Time
	// PolicyDir is where a policy's `file:` is read from, to check it is
	// there and record its SHA-256; Load sets it to the program file's
	// directory. Empty skips reading the texts.
	PolicyDir string
}

// Load reads and validates a program file. An invalid file returns Errors.
func Load(path string, opts Options) (*Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if opts.PolicyDir == "" {
		opts.PolicyDir = filepath.Dir(path)
	}
	return Parse(path, data, opts)
}

// Parse validates a program file's content; file names it in errors.
func Parse(file string, data []byte, opts Options) (*Program, error) {
	if opts.Processes == nil {
		opts.Processes = registry.ScheduledWorkflows()
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	sum := sha256.Sum256(data)
	p := &parser{
		file: file, opts: opts,
		prog:     &Program{File: file, Content: data, Hash: hex.EncodeToString(sum[:]), Roles: map[string][]string{}},
		policies: map[string]bool{}, controls: map[string]bool{}, obligations: map[string]bool{}, trainings: map[string]bool{},
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{file, 1, "(file)", "empty: expected roles, policies, controls and obligations"}}
	}
	p.mapping(doc.Content[0], "", map[string]func(*yaml.Node, string){
		"roles":       p.roles,
		"policies":    func(n *yaml.Node, f string) { p.each(n, f, p.policy) },
		"trainings":   func(n *yaml.Node, f string) { p.each(n, f, p.training) },
		"controls":    func(n *yaml.Node, f string) { p.each(n, f, p.control) },
		"obligations": func(n *yaml.Node, f string) { p.each(n, f, p.obligation) },
		"offboarding": p.offboarding,
		"dr":          p.dr,
	}, "roles", "policies", "controls", "obligations")
	p.resolve()
	p.resolveDR()
	if len(p.errs) > 0 {
		return nil, p.errs.sorted()
	}
	return p.prog, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func syntaxError(file string, err error) Error {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	reason := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringIndex(reason); m != nil && m[0] == 0 {
		reason = strings.TrimPrefix(reason[m[1]:], ": ")
	}
	return Error{file, line, "(syntax)", reason}
}

type parser struct {
	file string
	opts Options
	prog *Program
	errs Errors

	policies, controls, obligations, trainings map[string]bool
	// refs are checked once every section is read, since sections may come
	// in any order.
	refs []reference
	// drObligations run against the DR plan, handed to them once read.
	drObligations []drObligation
}

type reference struct {
	kind  string // "policy", "control", "process", "training" or "role"
	id    string
	line  int
	field string
}

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, Error{p.file, n.Line, field, fmt.Sprintf(format, args...)})
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mapping reads a mapping, handing each known key's value to its handler,
// and reports unknown, duplicate and missing required keys.
func (p *parser) mapping(n *yaml.Node, field string, keys map[string]func(*yaml.Node, string), required ...string) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, orFile(field), "expected a mapping (key: value lines), found %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := join(field, k.Value)
		handle, known := keys[k.Value]
		switch {
		case !known:
			p.fail(k, name, "unknown key (expected one of: %s)", strings.Join(slices.Sorted(maps.Keys(keys)), ", "))
		case seen[k.Value]:
			p.fail(k, name, "duplicate key")
		default:
			seen[k.Value] = true
			handle(v, name)
		}
	}
	for _, r := range required {
		if !seen[r] {
			p.fail(n, join(field, r), "required")
		}
	}
}

func orFile(field string) string {
	if field == "" {
		return "(file)"
	}
	return field
}

func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Tag == "!!null":
		return "nothing"
	case len(n.Value) > 40:
		return fmt.Sprintf("%q...", n.Value[:40])
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// each reads a list of mappings, naming each element by its id when it has one.
func (p *parser) each(n *yaml.Node, field string, read func(*yaml.Node, string)) {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "expected a list, found %s", describe(n))
		return
	}
	for i, el := range n.Content {
		el = deref(el)
		name := fmt.Sprintf("%s[%d]", field, i)
		if id := scalarKey(el, "id"); id != "" {
			name = fmt.Sprintf("%s[%s]", field, id)
		}
		read(el, name)
	}
}

func scalarKey(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func (p *parser) text(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		p.fail(n, field, "expected a text value, found %s", describe(n))
		return ""
	}
	return strings.TrimSpace(n.Value)
}

type item struct {
	value string
	line  int
	field string
}

// list reads a list of text values; a single value is a list of one.
func (p *parser) list(n *yaml.Node, field string) []item {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []item{{p.text(n, field), n.Line, field}}
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "expected a list, found %s", describe(n))
		return nil
	}
	out := make([]item, 0, len(n.Content))
	for i, el := range n.Content {
		el = deref(el)
		f := fmt.Sprintf("%s[%d]", field, i)
		if v := p.text(el, f); v != "" {
			out = append(out, item{v, el.Line, f})
		}
	}
	return out
}

func values(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out
}

// id reads an identifier and registers it in seen, reporting duplicates.
func (p *parser) id(n *yaml.Node, field string, seen map[string]bool) string {
	id := p.text(n, field)
	switch {
	case id == "":
	case !directory.ValidID(id):
		p.fail(n, field, "%q: %s", id, directory.IDRule)
	case seen[id]:
		p.fail(n, field, "duplicate id %q", id)
	default:
		seen[id] = true
	}
	return id
}

func (p *parser) person(id string, line int, field string) {
	if p.opts.People != nil && !p.opts.People[id] {
		p.errs = append(p.errs, Error{p.file, line, field, fmt.Sprintf("unknown person %q", id)})
	}
}

func (p *parser) roles(n *yaml.Node, field string) {
	keys := map[string]func(*yaml.Node, string){}
	for _, role := range RoleNames {
		keys[role] = func(v *yaml.Node, f string) {
			for _, it := range p.list(v, f) {
				p.person(it.value, it.line, it.field)
				p.prog.Roles[role] = append(p.prog.Roles[role], it.value)
			}
		}
	}
	p.mapping(n, field, keys)
}

func (p *parser) policy(n *yaml.Node, field string) {
	var pol Policy
	var sources int
	source := func(v *yaml.Node, f string) {
		pol.Source = p.text(v, f)
		sources++
	}
	file := func(v *yaml.Node, f string) {
		source(v, f)
		if pol.Source != "" && p.opts.PolicyDir != "" {
			pol.Text, pol.TextSHA256 = p.policyText(v, f, pol.Source)
		}
	}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"id":    func(v *yaml.Node, f string) { pol.ID = p.id(v, f, p.policies) },
		"title": func(v *yaml.Node, f string) { pol.Title = p.text(v, f) },
		"owner": func(v *yaml.Node, f string) {
			if pol.OwnerID = p.text(v, f); pol.OwnerID != "" {
				p.person(pol.OwnerID, v.Line, f)
			}
		},
		"file": file,
		"url":  source,
		"version": func(v *yaml.Node, f string) {
			text := p.text(v, f)
			if text == "" {
				return
			}
			switch ver, err := policy.Parse(text); {
			case err != nil:
				p.fail(v, f, "%v", err)
			case ver.Rev != 0:
				p.fail(v, f, "%q: give the version as YYYY.N; its revisions are recorded by the changes complyflow makes", text)
			default:
				pol.Version = ver.String()
			}
		},
		"deprecated":          func(v *yaml.Node, f string) { p.boolean(v, f, &pol.Deprecated) },
		"product_development": func(v *yaml.Node, f string) { p.boolean(v, f, &pol.ProductDevelopment) },
	}, "id", "title", "owner")
	if n.Kind == yaml.MappingNode && sources != 1 {
		p.fail(n, field, "give the policy text's location as exactly one of file or url")
	}
	p.prog.Policies = append(p.prog.Policies, pol)
}

// boolean reads true or false into b.
func (p *parser) boolean(v *yaml.Node, f string, b *bool) {
	if err := v.Decode(b); err != nil || v.Kind != yaml.ScalarNode {
		p.fail(v, f, "expected true or false, found %s", describe(v))
	}
}

// policyText reads a policy's text file and hashes it, so the version
// registered from it holds the exact text that was in effect.
func (p *parser) policyText(n *yaml.Node, field, file string) (text, sha string) {
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.opts.PolicyDir, file)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.fail(n, field, "no policy text at %s", path)
		return "", ""
	case err != nil:
		p.fail(n, field, "cannot read the policy text: %v", err)
		return "", ""
	case len(bytes.TrimSpace(data)) == 0:
		p.fail(n, field, "the policy text at %s is empty", path)
		return "", ""
	case !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0:
		p.fail(n, field, "the policy text at %s is not UTF-8 text", path)
		return "", ""
	}
	sum := sha256.Sum256(data)
	return string(data), hex.EncodeToString(sum[:])
}

// Framework reference formats: a typo in a requirement would silently drop a
// control from an auditor's query by requirement, so each must look right.
var frameworks = map[string]struct {
	pattern *regexp.Regexp
	example string
}{
	"soc2":  {regexp.MustCompile(`^(CC|A|C|PI|P)[0-9]+\.[0-9]+$`), "CC1.4"},
	"hipaa": {regexp.MustCompile(`^164\.[0-9]{3}(\([a-zA-Z0-9]+\))*$`), "164.308(a)(1)(ii)(B)"},
	"gdpr":  {regexp.MustCompile(`^Art\. [0-9]+(\([0-9]+\))?(\([a-z]\))?$`), "Art. 32(1)(b)"},
}

func (p *parser) control(n *yaml.Node, field string) {
	var c Control
	keys := map[string]func(*yaml.Node, string){}
	for name, fw := range frameworks {
		keys[name] = func(v *yaml.Node, f string) {
			for _, it := range p.list(v, f) {
				if !fw.pattern.MatchString(it.value) {
					p.errs = append(p.errs, Error{p.file, it.line, it.field,
						fmt.Sprintf("%q is not a %s reference such as %s", it.value, name, fw.example)})
					continue
				}
				c.Requirements = append(c.Requirements, Requirement{name, it.value})
			}
		}
	}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"id":          func(v *yaml.Node, f string) { c.ID = p.id(v, f, p.controls) },
		"title":       func(v *yaml.Node, f string) { c.Title = p.text(v, f) },
		"description": func(v *yaml.Node, f string) { c.Description = p.text(v, f) },
		"policies": func(v *yaml.Node, f string) {
			items := p.list(v, f)
			c.Policies = values(items)
			p.refer("policy", items)
		},
		"processes": func(v *yaml.Node, f string) {
			items := p.list(v, f)
			c.Processes = values(items)
			p.refer("process", items)
		},
		"frameworks": func(v *yaml.Node, f string) { p.mapping(v, f, keys) },
	}, "id", "title")
	p.prog.Controls = append(p.prog.Controls, c)
}

func (p *parser) refer(kind string, items []item) {
	for _, it := range items {
		p.refs = append(p.refs, reference{kind, it.value, it.line, it.field})
	}
}

func (p *parser) duration(n *yaml.Node, field string) time.Duration {
	s := p.text(n, field)
	if s == "" {
		return 0
	}
	d, err := period.Parse(s)
	switch {
	case err != nil:
		p.fail(n, field, "%v", err)
	case d <= 0:
		p.fail(n, field, "must be longer than zero")
	}
	return d
}

func (p *parser) obligation(n *yaml.Node, field string) {
	var o Obligation
	var dueNode, toleranceNode, jitterNode *yaml.Node
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"id":    func(v *yaml.Node, f string) { o.ID = p.id(v, f, p.obligations) },
		"title": func(v *yaml.Node, f string) { o.Title = p.text(v, f) },
		"process": func(v *yaml.Node, f string) {
			o.Process = p.text(v, f)
			if o.Process == "" {
				return
			}
			wf, ok := p.opts.Processes[o.Process]
			switch {
			case ok:
				o.Workflow = wf
			case registry.OnDemand(o.Process):
				p.fail(v, f, "process %q is started by people, not by a schedule", o.Process)
			default:
				p.fail(v, f, "unknown process %q (registered: %s)", o.Process, strings.Join(slices.Sorted(maps.Keys(p.opts.Processes)), ", "))
			}
		},
		"schedule":     func(v *yaml.Node, f string) { o.Schedule = p.schedule(v, f) },
		"due":          func(v *yaml.Node, f string) { dueNode, o.Due = v, p.duration(v, f) },
		"remind_every": func(v *yaml.Node, f string) { o.RemindEvery = p.duration(v, f) },
		"escalation":   func(v *yaml.Node, f string) { o.Escalation = p.escalation(v, f) },
		"controls": func(v *yaml.Node, f string) {
			items := p.list(v, f)
			o.Controls = values(items)
			p.refer("control", items)
		},
		"scope": func(v *yaml.Node, f string) {
			items := p.list(v, f)
			o.Scope = values(items)
			// The process key may come after scope, so read it from the node.
			if process := scalarKey(n, "process"); process == policyreview.Process || process == campaignact.ProcessAcknowledgement {
				p.refer("policy", items)
			}
		},
		"audience": func(v *yaml.Node, f string) { o.Departments = p.audience(v, f) },
		"training": func(v *yaml.Node, f string) {
			if o.Training = p.text(v, f); o.Training != "" {
				p.refs = append(p.refs, reference{"training", o.Training, v.Line, f})
			}
		},
		"new_hire_within": func(v *yaml.Node, f string) { o.NewHireWithin = p.duration(v, f) },
		"vendors":         func(v *yaml.Node, f string) { o.Vendors = p.vendorCadence(v, f) },
		"risk_tolerance":  func(v *yaml.Node, f string) { toleranceNode, o.RiskTolerance = v, p.riskTolerance(v, f) },
		"jitter":          func(v *yaml.Node, f string) { jitterNode, o.Jitter = v, p.duration(v, f) },
	}, "id", "process", "schedule", "due")
	if jitterNode != nil {
		p.jitter(jitterNode, join(field, "jitter"), o)
	}
	p.noteDR(n, field, o)
	p.campaignObligation(n, field, dueNode, o)
	switch {
	case o.Process == vendorreview.Process && o.Vendors == nil:
		p.fail(n, join(field, "vendors"), "required for process %s: the review cadence by vendor criticality", vendorreview.Process)
	case o.Process != vendorreview.Process && o.Vendors != nil:
		p.fail(n, join(field, "vendors"), "only process %s has a vendor cadence", vendorreview.Process)
	}
	switch {
	case o.Process == riskassessment.Process && toleranceNode == nil:
		p.fail(n, join(field, "risk_tolerance"), "required for process %s: the highest residual score (1-25) accepted without the CEO's sign-off", riskassessment.Process)
	case o.Process != riskassessment.Process && toleranceNode != nil:
		p.fail(n, join(field, "risk_tolerance"), "only process %s has a risk tolerance", riskassessment.Process)
	}
	// A parsed schedule runs every year (runsEveryYear), so it has an interval.
	if o.Schedule.spec != nil && dueNode != nil && o.Due > 0 {
		if interval := o.Schedule.MinInterval(p.opts.Now); interval > 0 && o.Due > interval {
			p.fail(dueNode, join(field, "due"), "%s is longer than the schedule's interval (%s): a run would start before the last one is due",
				period.Format(o.Due), period.Format(interval))
		}
	}
	p.prog.Obligations = append(p.prog.Obligations, o)
}

// schedule reads either {cron, time_zone} or {month, day, time, time_zone}.
func (p *parser) schedule(n *yaml.Node, field string) Schedule {
	var s Schedule
	var cronNode *yaml.Node
	var month, day, hour, minute int
	var dayNode *yaml.Node
	var calendar bool // month, day or time given
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"cron": func(v *yaml.Node, f string) { cronNode, s.Cron = v, p.text(v, f) },
		"month": func(v *yaml.Node, f string) {
			calendar = true
			var err error
			if month, err = parseMonth(v.Value); err != nil {
				p.fail(v, f, "%v", err)
			}
		},
		"day": func(v *yaml.Node, f string) {
			calendar, dayNode = true, v
			d, err := strconv.Atoi(v.Value)
			if err != nil || d < 1 || d > 31 {
				p.fail(v, f, "%q is not a day of the month (1-31)", v.Value)
				return
			}
			day = d
		},
		"time": func(v *yaml.Node, f string) {
			calendar = true
			var err error
			if hour, minute, err = parseClock(v.Value); err != nil {
				p.fail(v, f, "%v", err)
			}
		},
		"time_zone": func(v *yaml.Node, f string) {
			s.TimeZone = p.text(v, f)
			if s.TimeZone == "" {
				return
			}
			loc, err := time.LoadLocation(s.TimeZone)
			if err != nil || s.TimeZone == "Local" {
				p.fail(v, f, "unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", s.TimeZone)
				return
			}
			s.loc = loc
		},
	})
	if n.Kind != yaml.MappingNode {
		return s
	}
	if s.TimeZone == "" {
		s.TimeZone, s.loc = "UTC", time.UTC
	}
	// Where the every-year rule reports a schedule that breaks it.
	var ruleNode *yaml.Node
	var ruleField, ruleWhat string
	switch {
	case cronNode != nil && calendar:
		p.fail(n, field, "give either cron or month/day/time, not both")
		return s
	case cronNode != nil:
		if s.Cron == "" {
			return s
		}
		spec, err := parseCron(s.Cron)
		if err != nil {
			p.fail(cronNode, join(field, "cron"), "%q: %v", s.Cron, err)
			return s
		}
		s.spec = spec
		ruleNode, ruleField, ruleWhat = cronNode, join(field, "cron"), strconv.Quote(s.Cron)
	case calendar:
		if month == 0 || day == 0 {
			p.fail(n, field, "a calendar schedule needs month and day (time defaults to 00:00)")
			return s
		}
		s.Cron = fmt.Sprintf("%d %d %d %d *", minute, hour, day, month)
		s.spec, _ = parseCron(s.Cron)
		ruleNode, ruleField, ruleWhat = dayNode, join(field, "day"), fmt.Sprintf("%s %d", time.Month(month), day)
	default:
		p.fail(n, field, "give either cron or month/day/time")
		return s
	}
	if s.loc == nil { // the time zone was invalid and is reported already
		s.spec = nil
		return s
	}
	if err := runsEveryYear(s.spec, s.loc, p.opts.Now); err != nil {
		p.fail(ruleNode, ruleField, "%s: %v", ruleWhat, err)
		s.spec = nil
	}
	return s
}

func (p *parser) escalation(n *yaml.Node, field string) []workflows.EscalationStep {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "expected a list of steps {after, to}, found %s", describe(n))
		return nil
	}
	var steps []workflows.EscalationStep
	for i, el := range n.Content {
		el = deref(el)
		f := fmt.Sprintf("%s[%d]", field, i)
		var step workflows.EscalationStep
		p.mapping(el, f, map[string]func(*yaml.Node, string){
			"after": func(v *yaml.Node, f string) { step.After = p.duration(v, f) },
			"to": func(v *yaml.Node, f string) {
				step.To = p.text(v, f)
				switch {
				case step.To == "" || step.To == workflows.EscalateToManager:
				case strings.HasPrefix(step.To, "role:"):
					p.refs = append(p.refs, reference{"role", strings.TrimPrefix(step.To, "role:"), v.Line, f})
				default:
					p.person(step.To, v.Line, f)
				}
			},
		}, "after", "to")
		if len(steps) > 0 && step.After > 0 && step.After < steps[len(steps)-1].After {
			p.fail(el, join(f, "after"), "steps must be in order: %s comes before the previous step's %s",
				period.Format(step.After), period.Format(steps[len(steps)-1].After))
		}
		steps = append(steps, step)
	}
	return steps
}

// resolve checks the references between sections.
func (p *parser) resolve() {
	for _, r := range p.refs {
		var ok bool
		switch r.kind {
		case "policy":
			ok = p.policies[r.id]
		case "control":
			ok = p.controls[r.id]
		case "training":
			ok = p.trainings[r.id]
		case "process":
			_, ok = p.opts.Processes[r.id]
			ok = ok || registry.OnDemand(r.id)
		case "role":
			if !slices.Contains(RoleNames, r.id) {
				p.errs = append(p.errs, Error{p.file, r.line, r.field, fmt.Sprintf("unknown role %q (roles: %s)", r.id, strings.Join(RoleNames, ", "))})
			} else if len(p.prog.Roles[r.id]) == 0 {
				p.errs = append(p.errs, Error{p.file, r.line, r.field, fmt.Sprintf("role %q has nobody in roles", r.id)})
			}
			continue
		}
		if !ok {
			p.errs = append(p.errs, Error{p.file, r.line, r.field, fmt.Sprintf("unknown %s %q", r.kind, r.id)})
		}
	}
}
