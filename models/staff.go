package models

// Staff is the staff operations: bulk allocation changes, statistics and the
// audit log.
type Staff struct{ *core }
