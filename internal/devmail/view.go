package devmail

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{"linkify": linkify}).ParseFS(templates, "templates/*.html"))

// view is a received message as the viewer shows it.
type view struct {
	ID       int
	From     string
	To       string
	Subject  string
	Received time.Time
	Text     string
	HTML     string
}

// Handler serves the mailbox: GET /dev/mail lists, GET /dev/mail/{id} shows one.
func (s *Sink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/mail", func(w http.ResponseWriter, r *http.Request) {
		msgs := s.Messages()
		views := make([]view, 0, len(msgs))
		for i := len(msgs) - 1; i >= 0; i-- {
			views = append(views, parse(msgs[i]))
		}
		render(w, "mailbox.html", views)
	})
	mux.HandleFunc("GET /dev/mail/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		msgs := s.Messages()
		if err != nil || id < 1 || id > len(msgs) {
			http.Error(w, "no such message", http.StatusNotFound)
			return
		}
		render(w, "message.html", parse(msgs[id-1]))
	})
	return mux
}

func render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	buf.WriteTo(w)
}

// parse reads the headers and the text and HTML parts of a message.
func parse(m Message) view {
	v := view{ID: m.ID, From: m.From, To: strings.Join(m.To, ", "), Received: m.Received}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		v.Text = string(m.Raw)
		return v
	}
	dec := new(mime.WordDecoder)
	if s, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		v.Subject = s
	}
	mediaType, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, _ := io.ReadAll(decodePart(msg.Body, msg.Header.Get("Content-Transfer-Encoding")))
		if mediaType == "text/html" {
			v.HTML = string(body)
		} else {
			v.Text = string(body)
		}
		return v
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		// multipart.Reader already undoes quoted-printable.
		body, _ := io.ReadAll(decodePart(p, p.Header.Get("Content-Transfer-Encoding")))
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			v.Text = string(body)
		case "text/html":
			v.HTML = string(body)
		}
	}
	return v
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and turns its URLs into links, so a person can follow
// a task link from the dev mailbox.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range urlPattern.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:loc[0]]))
		u := template.HTMLEscapeString(text[loc[0]:loc[1]])
		b.WriteString(`<a href="` + u + `">` + u + `</a>`)
		last = loc[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}
