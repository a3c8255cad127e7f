package humantask

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldKind is what a form field holds.
type FieldKind string

// The kinds of form field. Every value travels as text: a number as its
// decimal, a date as YYYY-MM-DD, yes/no as "yes" or "no", a choice as the
// choice's value, a file as the hex SHA-256 of an evidence file already
// stored. A list is a repeated sub-record whose fields are of the other
// kinds.
const (
	FieldText   FieldKind = "text"
	FieldNumber FieldKind = "number"
	FieldChoice FieldKind = "choice"
	FieldDate   FieldKind = "date"
	FieldYesNo  FieldKind = "yes-no"
	FieldList   FieldKind = "list"
	FieldFile   FieldKind = "file"
)

// Choice is one option of a choice field.
type Choice struct {
	Value string
	Label string
}

// Condition holds when the field named Field has the value Equals.
type Condition struct {
	Field  string
	Equals string
}

// Field is one field of a task's form.
type Field struct {
	Name     string // the key of its value; unique in its form
	Label    string
	Kind     FieldKind
	Help     string `json:",omitempty"`
	Required bool   `json:",omitempty"`
	// RequiredIf makes the field required when another field of the same
	// form (or sub-record) has a value: follow-ups when the decision is
	// "accept with follow-ups".
	RequiredIf *Condition `json:",omitempty"`
	// MaxLen caps a text field (characters); zero: DefaultMaxLen.
	MaxLen int `json:",omitempty"`
	// Min and Max bound a number field, when set.
	Min *float64 `json:",omitempty"`
	Max *float64 `json:",omitempty"`
	// Choices are a choice field's options.
	Choices []Choice `json:",omitempty"`
	// Fields are a list field's sub-record; MaxItems caps its items (zero:
	// DefaultMaxItems).
	Fields   []Field `json:",omitempty"`
	MaxItems int     `json:",omitempty"`
}

// Form is what a task asks for when it is completed with one of the
// actions in For (empty: every action but reject, which needs only its note).
type Form struct {
	Fields []Field
	For    []Action `json:",omitempty"`
}

// Values is a filled form: each scalar field's value as text, and each list
// field's items, every item its sub-record's values as text.
type Values struct {
	Fields map[string]string              `json:",omitempty"`
	Lists  map[string][]map[string]string `json:",omitempty"`
}

// Caps of a field that sets none.
const (
	DefaultMaxLen   = 2000
	DefaultMaxItems = 20
)

// Applies reports whether completing with action must fill the form.
func (f *Form) Applies(action Action) bool {
	if f == nil || len(f.Fields) == 0 {
		return false
	}
	if len(f.For) == 0 {
		return action != ActionReject
	}
	return slices.Contains(f.For, action)
}

// Check is the form definition's own consistency: names unique and set,
// kinds known, choices present, list sub-records of scalars only.
func (f *Form) Check() error {
	if f == nil {
		return nil
	}
	return checkFields(f.Fields, true)
}

func checkFields(fields []Field, top bool) error {
	seen := map[string]bool{}
	for _, fd := range fields {
		switch {
		case fd.Name == "" || strings.ContainsAny(fd.Name, ". "):
			return fmt.Errorf("form field %q: a name is needed, without dots or spaces", fd.Name)
		case seen[fd.Name]:
			return fmt.Errorf("form field %q appears twice", fd.Name)
		case fd.Kind == FieldChoice && len(fd.Choices) == 0:
			return fmt.Errorf("form field %q: a choice needs choices", fd.Name)
		case fd.Kind == FieldList && !top:
			return fmt.Errorf("form field %q: a list cannot hold a list", fd.Name)
		case fd.Kind == FieldFile && !top:
			return fmt.Errorf("form field %q: a list cannot hold a file (the portal takes files as fields of the form itself)", fd.Name)
		case fd.Kind == FieldList:
			if err := checkFields(fd.Fields, false); err != nil {
				return fmt.Errorf("form field %q: %w", fd.Name, err)
			}
		case !slices.Contains([]FieldKind{FieldText, FieldNumber, FieldChoice, FieldDate, FieldYesNo, FieldFile}, fd.Kind):
			return fmt.Errorf("form field %q: unknown kind %q", fd.Name, fd.Kind)
		}
		seen[fd.Name] = true
	}
	return nil
}

// Validate answers every problem with v against the form, each naming the
// field by its label, or nil. The update validator and the portal both call
// it, so both refuse the same values.
func (f *Form) Validate(v Values) error {
	var problems []string
	for _, fd := range f.Fields {
		if fd.Kind == FieldList {
			problems = append(problems, validateList(fd, v)...)
			continue
		}
		if p := validateScalar(fd, v.Fields[fd.Name], v.Fields); p != "" {
			problems = append(problems, p)
		}
	}
	for name := range v.Fields {
		if i := slices.IndexFunc(f.Fields, func(fd Field) bool { return fd.Name == name && fd.Kind != FieldList }); i < 0 {
			problems = append(problems, fmt.Sprintf("%q is not a field of this form", name))
		}
	}
	for name := range v.Lists {
		if i := slices.IndexFunc(f.Fields, func(fd Field) bool { return fd.Name == name && fd.Kind == FieldList }); i < 0 {
			problems = append(problems, fmt.Sprintf("%q is not a list of this form", name))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

func validateList(fd Field, v Values) []string {
	items := v.Lists[fd.Name]
	var problems []string
	if len(items) == 0 && required(fd, v.Fields) {
		return []string{fd.Label + " needs at least one entry"}
	}
	maxItems := fd.MaxItems
	if maxItems == 0 {
		maxItems = DefaultMaxItems
	}
	if len(items) > maxItems {
		problems = append(problems, fmt.Sprintf("%s has %d entries: at most %d are accepted", fd.Label, len(items), maxItems))
	}
	for i, item := range items {
		for _, sub := range fd.Fields {
			if p := validateScalar(sub, item[sub.Name], item); p != "" {
				problems = append(problems, fmt.Sprintf("%s %d: %s", fd.Label, i+1, p))
			}
		}
		for name := range item {
			if !slices.ContainsFunc(fd.Fields, func(sub Field) bool { return sub.Name == name }) {
				problems = append(problems, fmt.Sprintf("%s %d: %q is not one of its fields", fd.Label, i+1, name))
			}
		}
	}
	return problems
}

func required(fd Field, siblings map[string]string) bool {
	return fd.Required || (fd.RequiredIf != nil && siblings[fd.RequiredIf.Field] == fd.RequiredIf.Equals)
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validateScalar says what is wrong with one value of a scalar field, or "".
func validateScalar(fd Field, val string, siblings map[string]string) string {
	if strings.TrimSpace(val) == "" {
		if required(fd, siblings) {
			return fd.Label + " is required"
		}
		return ""
	}
	switch fd.Kind {
	case FieldText:
		maxLen := fd.MaxLen
		if maxLen == 0 {
			maxLen = DefaultMaxLen
		}
		if n := len([]rune(val)); n > maxLen {
			return fmt.Sprintf("%s is %d characters long: at most %d are accepted", fd.Label, n, maxLen)
		}
	case FieldNumber:
		n, err := strconv.ParseFloat(val, 64)
		switch {
		case err != nil:
			return fmt.Sprintf("%s: %q is not a number", fd.Label, val)
		case fd.Min != nil && n < *fd.Min:
			return fmt.Sprintf("%s is %s: it must be at least %s", fd.Label, val, strconv.FormatFloat(*fd.Min, 'f', -1, 64))
		case fd.Max != nil && n > *fd.Max:
			return fmt.Sprintf("%s is %s: it must be at most %s", fd.Label, val, strconv.FormatFloat(*fd.Max, 'f', -1, 64))
		}
	case FieldChoice:
		if !slices.ContainsFunc(fd.Choices, func(c Choice) bool { return c.Value == val }) {
			values := make([]string, len(fd.Choices))
			for i, c := range fd.Choices {
				values[i] = c.Value
			}
			return fmt.Sprintf("%s: %q is not one of %s", fd.Label, val, strings.Join(values, ", "))
		}
	case FieldDate:
		if _, err := time.Parse(time.DateOnly, val); err != nil {
			return fmt.Sprintf("%s: %q is not a date (YYYY-MM-DD)", fd.Label, val)
		}
	case FieldYesNo:
		if val != "yes" && val != "no" {
			return fmt.Sprintf("%s: %q is not yes or no", fd.Label, val)
		}
	case FieldFile:
		if !sha256Hex.MatchString(val) {
			return fmt.Sprintf("%s: %q is not the SHA-256 of a stored file", fd.Label, val)
		}
	}
	return ""
}

// Date is the date field's value, and whether it has one.
func (v Values) Date(name string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, v.Fields[name])
	return t, err == nil
}

// YesNo is a yes/no field's value as a pointer: nil when it was left empty.
func (v Values) YesNo(name string) *bool {
	switch v.Fields[name] {
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	return nil
}
