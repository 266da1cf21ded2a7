package views

import "github.com/a-h/templ"

// NextStep is the link an error offers as the way on.
type NextStep struct {
	Href, Label string
}

// WithStatus is c followed by msg in the page's status region: the htmx
// answer of a successful action. An empty msg adds nothing.
func WithStatus(c templ.Component, msg string) templ.Component {
	if msg == "" {
		return c
	}
	return templ.Join(c, Status(msg))
}

// WithStatusError is c followed by msg in the error half of the status
// region: a form or row re-rendered, with why the action was not done.
func WithStatusError(c templ.Component, msg string) templ.Component {
	if msg == "" {
		return c
	}
	return templ.Join(c, StatusError(msg))
}
