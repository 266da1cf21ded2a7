package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// `beckon backup` while the server takes a steady load of invitations: the
// copy is a consistent database (PRAGMA integrity_check says ok) holding
// the invitations committed before it, with allocations that agree.
func TestBackupUnderLoad(t *testing.T) {
	testdb.SQLiteOnly(t, "backs up a SQLite file")
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "beckon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := []string{"BECKON_DB=" + filepath.Join(dir, "beckon.db"), "BECKON_ADDR=127.0.0.1:0",
		"BECKON_BASE_URL=http://beckon.test", "BECKON_INVITE_RATE=0", "BECKON_RECIPIENT_RATE=0"}
	command := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("beckon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	command("a long password\n", "createuser", "--email", "ann@example.com", "--username", "ann")
	command("", "add-invites", "100000")
	srv := startServer(ctx, t, bin, env)
	defer srv.stop(t)
	client := signIn(t, srv.url, "ann")

	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.PostForm(srv.url+"/invitations", url.Values{"email": {fmt.Sprintf("g%d-%d@example.com", w, i)}})
				if err != nil {
					t.Errorf("POST /invitations: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode < 400 {
					sent.Add(1)
				}
			}
		})
	}
	for sent.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(dir, "backup.db")
	command("", "backup", backup)
	atBackup := sent.Load()
	for sent.Load() < atBackup+50 { // the load goes on after it
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	db, err := models.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q (%v)", check, err)
	}
	var invitations, held int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM invitations), (SELECT held FROM allocations a JOIN users u ON u.id = a.user_id
		WHERE u.username = 'ann')`).Scan(&invitations, &held); err != nil {
		t.Fatal(err)
	}
	if invitations == 0 || int64(invitations) > atBackup+8 || held != invitations {
		t.Errorf("the backup holds %d invitations (%d sent when it was taken), ann holds %d", invitations, atBackup, held)
	}
	t.Logf("backup taken after %d invitations holds %d; %d sent in all", atBackup, invitations, sent.Load())
}
