package handlers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// bulkMaxBody bounds a bulk invitation form: 1,000 rows of the longest
// address and note fit in well under it.
const bulkMaxBody = 2 << 20

// recentBulkJobs is how many of their lists a staff member sees on the form.
const recentBulkJobs = 10

// staffBulkInvite handles GET /staff/invite: the form.
func (h *Handler) staffBulkInvite(w http.ResponseWriter, r *http.Request) {
	h.renderBulkInvite(w, r, http.StatusOK, views.BulkInviteForm{})
}

func (h *Handler) renderBulkInvite(w http.ResponseWriter, r *http.Request, status int, form views.BulkInviteForm) {
	u, _ := currentUser(r)
	jobs, err := h.store.Bulk.ListFor(r.Context(), u.ID, recentBulkJobs)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, views.BulkInvitePage(h.layout(r, "Invite many"), views.BulkInvite{Form: form, Own: u.Allocation, Jobs: jobs}))
}

// staffBulkInvitePost handles POST /staff/invite: a pasted list (emails) or
// an uploaded CSV (csv), each row email[,note], with a note for rows without
// one. The rows are stored as a job for the background runner (each is
// checked when it is sent, exactly as the invite form would), and the answer
// is a redirect to the job's progress page. A list that cannot be read, or
// of more than 1,000 rows, is refused before anything is queued.
func (h *Handler) staffBulkInvitePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if !u.Verified() {
		h.fail(w, r, models.ErrNotVerified, models.Facts{})
		return
	}
	err := r.ParseMultipartForm(1 << 20)
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			form := views.BulkInviteForm{Errors: views.FieldErrors{"emails": fmt.Sprintf("The list is too large: send at most %d rows at a time.", models.MaxBulkRows)}}
			h.renderBulkInvite(w, r, http.StatusUnprocessableEntity, form)
			return
		}
		h.badForm(w, r)
		return
	}
	form := views.BulkInviteForm{Emails: r.PostFormValue("emails"), Note: strings.TrimSpace(r.PostFormValue("note"))}
	var v models.Validator
	models.CheckNote(&v, "note", form.Note)
	rows, field, msg := readBulkRows(form.Emails, "the list")
	if msg == "" {
		var more []models.BulkRow
		more, field, msg = h.bulkUpload(r)
		rows = append(rows, more...)
	}
	switch {
	case msg != "":
		v.Check(false, field, msg)
	case len(rows) == 0:
		v.Check(false, "emails", "Paste at least one address, or choose a CSV file.")
	case len(rows) > models.MaxBulkRows:
		v.Check(false, "emails", fmt.Sprintf("Send at most %d rows at a time; this list has %d.", models.MaxBulkRows, len(rows)))
	}
	if !v.Valid() {
		form.Errors = v.Errors
		h.renderBulkInvite(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	for i := range rows {
		if rows[i].Note == "" {
			rows[i].Note = form.Note
		}
	}
	job, err := h.store.Bulk.Create(r.Context(), u.ID, rows)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirect(w, r, "/staff/invite/"+strconv.FormatInt(job.ID, 10))
}

// bulkUpload reads the uploaded CSV file, if there is one.
func (h *Handler) bulkUpload(r *http.Request) ([]models.BulkRow, string, string) {
	if r.MultipartForm == nil {
		return nil, "", ""
	}
	f, _, err := r.FormFile("csv")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, "", ""
	}
	if err != nil {
		return nil, "csv", "The file could not be read. Choose a CSV file."
	}
	defer f.Close()
	body, err := io.ReadAll(f)
	if err != nil {
		return nil, "csv", "The file could not be read. Choose a CSV file."
	}
	rows, _, msg := readBulkRows(string(body), "the file")
	if msg != "" {
		return nil, "csv", msg
	}
	return rows, "", ""
}

// readBulkRows reads rows email[,note] from text as CSV; blank lines are
// skipped, as is a first line that is a header (its first field "email").
// A note may hold commas, quoted or not: everything after the first comma
// is the note. It stops reading after MaxBulkRows+1 rows, enough to refuse
// the list. On failure it returns the field and message to show.
func readBulkRows(text, what string) ([]models.BulkRow, string, string) {
	if strings.TrimSpace(text) == "" {
		return nil, "", ""
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var rows []models.BulkRow
	for first := true; len(rows) <= models.MaxBulkRows; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, "emails", fmt.Sprintf("Line %d of %s could not be read: check its quotes.", line, what)
		}
		email := strings.TrimSpace(rec[0])
		note := strings.TrimSpace(strings.Join(rec[1:], ","))
		if email == "" && note == "" {
			continue
		}
		if first && strings.EqualFold(email, "email") {
			continue
		}
		rows = append(rows, models.BulkRow{Email: email, Note: note})
	}
	return rows, "", ""
}

// staffBulkJob handles GET /staff/invite/{id}: the progress bar while the
// job runs, then the report. An htmx poll gets the bar, the status line
// and, once done, the report; without JavaScript a running job's page
// reloads itself every two seconds.
func (h *Handler) staffBulkJob(w http.ResponseWriter, r *http.Request) {
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	job, err := h.store.Bulk.Get(r.Context(), id)
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	v := views.BulkJobView{Job: job}
	if job.Finished() {
		if v.Rows, err = h.store.Bulk.Rows(r.Context(), id); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.BulkPoll(v))
		return
	}
	l := h.layout(r, "Bulk invitations")
	if !job.Finished() {
		l.Refresh = 2
	}
	h.render(w, r, http.StatusOK, views.BulkJobPage(l, v))
}
