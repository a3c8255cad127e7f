package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/complyflow/complyflow/workflows/humantask"
)

// listRows is how many blank entries the page offers for a list field; an
// entry left blank is not sent.
const listRows = 5

// fieldView is one form field as task.html draws it: Name is the input's
// name ("decision", or "cuecs.0.control" in a list's entry).
type fieldView struct {
	humantask.Field
	Input    string
	Required bool
	Min, Max string
	Entries  [][]fieldView // a list's blank entries
}

// formOf reads a task's form from its record; nil when it has none.
func formOf(raw []byte) (*humantask.Form, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var f humantask.Form
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("task form: %w", err)
	}
	return &f, nil
}

// formViews lays the form out for task.html.
func formViews(f *humantask.Form) []fieldView {
	if f == nil {
		return nil
	}
	out := make([]fieldView, len(f.Fields))
	for i, fd := range f.Fields {
		out[i] = view(fd, fd.Name)
		if fd.Kind == humantask.FieldList {
			rows := listRows
			if fd.MaxItems > 0 && fd.MaxItems < rows {
				rows = fd.MaxItems
			}
			for n := range rows {
				entry := make([]fieldView, len(fd.Fields))
				for j, sub := range fd.Fields {
					entry[j] = view(sub, fmt.Sprintf("%s.%d.%s", fd.Name, n, sub.Name))
					// An entry's fields are required only once the entry is used;
					// the validator says which are missing.
					entry[j].Required = false
				}
				out[i].Entries = append(out[i].Entries, entry)
			}
		}
	}
	return out
}

func view(fd humantask.Field, input string) fieldView {
	v := fieldView{Field: fd, Input: input, Required: fd.Required}
	if fd.Min != nil {
		v.Min = strconv.FormatFloat(*fd.Min, 'f', -1, 64)
	}
	if fd.Max != nil {
		v.Max = strconv.FormatFloat(*fd.Max, 'f', -1, 64)
	}
	return v
}

// formValues reads the posted values of the form's fields; blank values and
// blank list entries are left out, so the validator sees what was filled.
func formValues(f *humantask.Form, r *http.Request) humantask.Values {
	var v humantask.Values
	if f == nil {
		return v
	}
	for _, fd := range f.Fields {
		if fd.Kind != humantask.FieldList {
			if val := strings.TrimSpace(r.PostFormValue(fd.Name)); val != "" {
				if v.Fields == nil {
					v.Fields = map[string]string{}
				}
				v.Fields[fd.Name] = val
			}
			continue
		}
		for n := range listRows {
			item := map[string]string{}
			for _, sub := range fd.Fields {
				if val := strings.TrimSpace(r.PostFormValue(fmt.Sprintf("%s.%d.%s", fd.Name, n, sub.Name))); val != "" {
					item[sub.Name] = val
				}
			}
			if len(item) > 0 {
				if v.Lists == nil {
					v.Lists = map[string][]map[string]string{}
				}
				v.Lists[fd.Name] = append(v.Lists[fd.Name], item)
			}
		}
	}
	return v
}
