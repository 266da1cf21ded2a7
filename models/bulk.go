package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bulk is the bulk invitation jobs of SPEC 12: a staff member's list of
// addresses, sent in the background from their own allocation, one row at
// a time through the very checks of a single invitation. A job's state is
// in the database, so a restart in the middle finishes it: each row is
// marked done in the transaction that creates its invitation, so none is
// sent twice.
type Bulk struct {
	*core
	inv *Invitations
	// queued is signalled (without blocking) when a job is created, so the
	// runner starts at once.
	queued chan struct{}
}

// MaxBulkRows bounds a job's rows.
const MaxBulkRows = 1000

// Outcomes of a bulk row. A refusal the models do not know by name (one
// added later) is OutcomeNotSent, with its own message.
const (
	OutcomeSent           = "sent"
	OutcomeAlreadyMember  = "already_member"
	OutcomeAlreadyInvited = "already_invited"
	OutcomeInvalid        = "invalid"
	OutcomeDomainBlocked  = "domain_blocked"
	OutcomeOptedOut       = "opted_out"
	OutcomeNoneLeft       = "no_invitations_left"
	OutcomeRateLimited    = "rate_limited"
	OutcomeNotSent        = "not_sent"
)

// outcomeOf is the outcome of a row refused with e: the error codes are the
// outcomes' names (domain_blocked and opted_out are the codes of SPEC 11's
// refusals).
func outcomeOf(e *Error) string {
	switch e.Code {
	case OutcomeAlreadyMember, OutcomeAlreadyInvited, OutcomeDomainBlocked, OutcomeOptedOut, OutcomeNoneLeft, OutcomeRateLimited:
		return e.Code
	case "validation_failed":
		return OutcomeInvalid
	}
	return OutcomeNotSent
}

// SentMessage is what a row that was sent says: the invite form's flash.
func SentMessage(email string) string { return "Invitation sent to " + email + "." }

// BulkRow is one row of a job: the address and note as given, and once done
// its outcome and the message the invite form would have shown.
type BulkRow struct {
	N       int
	Email   string
	Note    string
	Outcome string // "" until done
	Message string
}

// BulkJob is one bulk invitation job.
type BulkJob struct {
	ID         int64
	StaffID    int64
	Total      int
	Done       int
	CreatedAt  time.Time
	FinishedAt time.Time
}

// Finished reports whether every row is done.
func (j BulkJob) Finished() bool { return !j.FinishedAt.IsZero() }

// Queued signals, without blocking, when a job was created.
func (m *Bulk) Queued() <-chan struct{} { return m.queued }

// Create stores a job of rows (numbered in order from 1) for staffID, in one
// transaction, and wakes the runner. The rows are not checked here: each is
// checked when it is sent, as the invite form would.
func (m *Bulk) Create(ctx context.Context, staffID int64, rows []BulkRow) (BulkJob, error) {
	if len(rows) == 0 || len(rows) > MaxBulkRows {
		return BulkJob{}, fmt.Errorf("models: bulk job of %d rows", len(rows))
	}
	job := BulkJob{StaffID: staffID, Total: len(rows)}
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		job.CreatedAt = m.now()
		var err error
		if job.ID, err = insertID(ctx, tx, m.engine, `INSERT INTO bulk_jobs (staff_id, total, created_at) VALUES (?, ?, ?)`,
			staffID, len(rows), unix(job.CreatedAt)); err != nil {
			return fmt.Errorf("models: insert bulk job: %w", err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO bulk_rows (job_id, n, email, note) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("models: insert bulk rows: %w", err)
		}
		defer stmt.Close()
		for i, r := range rows {
			if _, err := stmt.ExecContext(ctx, job.ID, i+1, r.Email, r.Note); err != nil {
				return fmt.Errorf("models: insert bulk row: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return BulkJob{}, err
	}
	select {
	case m.queued <- struct{}{}:
	default:
	}
	return job, nil
}

const bulkJobColumns = `id, staff_id, total, done, created_at, finished_at`

// scanBulkJob reads a bulkJobColumns row into j.
func scanBulkJob(row scanner, j *BulkJob) error {
	var created int64
	var finished sql.NullInt64
	err := row.Scan(&j.ID, &j.StaffID, &j.Total, &j.Done, &created, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRecord
	}
	if err != nil {
		return fmt.Errorf("models: scan bulk job: %w", err)
	}
	j.CreatedAt, j.FinishedAt = time.Unix(created, 0).UTC(), fromUnix(finished)
	return nil
}

// Get returns the job with id, or ErrNoRecord.
func (m *Bulk) Get(ctx context.Context, id int64) (BulkJob, error) {
	return one(m.db.QueryRowContext(ctx, `SELECT `+bulkJobColumns+` FROM bulk_jobs WHERE id = ?`, id), scanBulkJob)
}

// ListFor returns staffID's latest jobs, newest first.
func (m *Bulk) ListFor(ctx context.Context, staffID int64, limit int) ([]BulkJob, error) {
	out, err := queryAll(ctx, m.db, limit, scanBulkJob, `SELECT `+bulkJobColumns+` FROM bulk_jobs WHERE staff_id = ? ORDER BY id DESC LIMIT ?`, staffID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: list bulk jobs: %w", err)
	}
	return out, nil
}

// Rows returns every row of job id, in order.
func (m *Bulk) Rows(ctx context.Context, id int64) ([]BulkRow, error) {
	return m.rows(ctx, `SELECT n, email, note, coalesce(outcome, ''), message FROM bulk_rows WHERE job_id = ? ORDER BY n`, id)
}

func (m *Bulk) rows(ctx context.Context, query string, args ...any) ([]BulkRow, error) {
	rows, err := m.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("models: bulk rows: %w", err)
	}
	defer rows.Close()
	var out []BulkRow
	for rows.Next() {
		var r BulkRow
		if err := rows.Scan(&r.N, &r.Email, &r.Note, &r.Outcome, &r.Message); err != nil {
			return nil, fmt.Errorf("models: bulk rows: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: bulk rows: %w", err)
	}
	return out, nil
}

// errRowDone undoes an invitation whose row another runner finished first.
var errRowDone = errors.New("models: bulk row already done")

// Work runs every unfinished job, oldest first, until none is left or ctx
// is done (then it stops between rows and returns ctx's error). A row that
// fails for a reason no person could fix (the database) stops it with that
// error; the row stays to do, for the next run.
func (m *Bulk) Work(ctx context.Context) error {
	for {
		n, err := m.WorkRows(ctx, 50)
		if err != nil || n == 0 {
			return err
		}
	}
}

// WorkRows does at most limit rows of the oldest unfinished job and returns
// how many it did (0: no job has rows left).
func (m *Bulk) WorkRows(ctx context.Context, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	job, err := one(m.db.QueryRowContext(ctx, `SELECT `+bulkJobColumns+` FROM bulk_jobs
		WHERE finished_at IS NULL ORDER BY id LIMIT 1`), scanBulkJob)
	if errors.Is(err, ErrNoRecord) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	todo, err := m.rows(ctx, `SELECT n, email, note, '', '' FROM bulk_rows WHERE job_id = ? AND outcome IS NULL ORDER BY n LIMIT ?`, job.ID, limit)
	if err != nil {
		return 0, err
	}
	if len(todo) == 0 {
		// Every row is done, but the job was not marked so: mark it.
		return 1, m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			_, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET finished_at = ?, done = total WHERE id = ?`, unix(m.now()), job.ID)
			return err
		})
	}
	// The staff member is read once a batch: their allocation is read
	// under the write lock by each row anyway.
	staff, err := getUser(ctx, m.db, job.StaffID)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, row := range todo {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		if err := m.workRow(ctx, job.ID, staff, row); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// workRow sends one row as the invite form would, and records its outcome.
func (m *Bulk) workRow(ctx context.Context, jobID int64, staff User, row BulkRow) error {
	email, note := strings.TrimSpace(row.Email), strings.TrimSpace(row.Note)
	var v Validator
	CheckInvitation(&v, email, note)
	if !v.Valid() {
		msg := v.Errors["email"]
		if msg == "" {
			msg = v.Errors["note"]
		}
		return m.mark(ctx, jobID, row.N, OutcomeInvalid, msg, 0)
	}
	_, _, err := m.inv.create(ctx, staff, email, note, 0, inviteOpts{
		inTx: func(ctx context.Context, tx *sql.Tx, ch *change, inv Invitation) error {
			return markRow(ctx, tx, m.now(), jobID, row.N, OutcomeSent, SentMessage(email), inv.ID)
		}})
	if err == nil || errors.Is(err, errRowDone) {
		return nil
	}
	e, known := AsError(err)
	if !known {
		return err
	}
	// Nothing was sent: the refusal is recorded on its own.
	return m.mark(ctx, jobID, row.N, outcomeOf(e), e.Text(Facts{Email: email}), 0)
}

// mark records a row's outcome in a transaction of its own.
func (m *Bulk) mark(ctx context.Context, jobID int64, n int, outcome, msg string, invitationID int64) error {
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		return markRow(ctx, tx, m.now(), jobID, n, outcome, msg, invitationID)
	})
	if errors.Is(err, errRowDone) {
		return nil
	}
	return err
}

// markRow records row n's outcome and counts it done, finishing the job with
// its last row; errRowDone when the row was done already.
func markRow(ctx context.Context, tx *sql.Tx, now time.Time, jobID int64, n int, outcome, msg string, invitationID int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE bulk_rows SET outcome = ?, message = ?, invitation_id = nullif(CAST(? AS BIGINT), 0)
		WHERE job_id = ? AND n = ? AND outcome IS NULL`, outcome, msg, invitationID, jobID, n)
	if err != nil {
		return fmt.Errorf("models: mark bulk row: %w", err)
	}
	if k, err := res.RowsAffected(); err != nil || k != 1 {
		return errRowDone
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET done = done + 1,
		finished_at = CASE WHEN done + 1 >= total THEN ? ELSE finished_at END WHERE id = ?`, unix(now), jobID); err != nil {
		return fmt.Errorf("models: count bulk row: %w", err)
	}
	return nil
}
