package handlers

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 12, 8, 9, 30, 0, 123, time.UTC)
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	values := map[string]any{
		sessionUserID: int64(1 << 40), sessionFlash: "Invitation sent to ann@example.com. ✓",
		"count": -3, "on": true, "off": false, "at": at, "": "",
	}
	b, err := sessionCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sessionCodec{}.Encode(deadline, values)
	if !bytes.Equal(b, again) {
		t.Error("the same session encodes to different bytes")
	}
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) {
		t.Errorf("deadline %v; want %v", gotDeadline, deadline)
	}
	if len(got) != len(values) {
		t.Fatalf("%d values; want %d: %v", len(got), len(values), got)
	}
	for k, want := range values {
		if wt, ok := want.(time.Time); ok {
			if gt, ok := got[k].(time.Time); !ok || !gt.Equal(wt) {
				t.Errorf("%q = %#v; want %v", k, got[k], wt)
			}
			continue
		}
		if got[k] != want {
			t.Errorf("%q = %#v (%T); want %#v (%T)", k, got[k], got[k], want, want)
		}
	}
}

func TestSessionCodecRefusesUnknownTypes(t *testing.T) {
	_, err := sessionCodec{}.Encode(time.Now(), map[string]any{"cart": []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), `"cart"`) {
		t.Errorf("err = %v; want one naming the key", err)
	}
}

// Sessions saved before the codec changed were gob: they still decode.
func TestSessionCodecReadsGobSessions(t *testing.T) {
	deadline := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	b, err := scs.GobCodec{}.Encode(deadline, map[string]any{sessionUserID: int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	got, values, err := sessionCodec{}.Decode(b)
	if err != nil || !got.Equal(deadline) || values[sessionUserID] != int64(7) {
		t.Errorf("Decode(gob) = %v, %v, %v; want the gob session", got, values, err)
	}
}

// Damaged data is an error, never a panic or a half-read session.
func TestSessionCodecRejectsDamagedData(t *testing.T) {
	b, err := sessionCodec{}.Encode(time.Now(), map[string]any{sessionUserID: int64(7), sessionFlash: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(b); i++ {
		if _, v, err := (sessionCodec{}).Decode(b[:i]); err == nil {
			t.Errorf("Decode of the first %d bytes = %v, nil; want an error", i, v)
		}
	}
	bad := append(bytes.Clone(b), 0)
	if _, _, err := (sessionCodec{}).Decode(bad); err == nil {
		t.Error("Decode with a trailing byte succeeded")
	}
}

func FuzzSessionCodecDecode(f *testing.F) {
	b, _ := sessionCodec{}.Encode(time.Now(), map[string]any{sessionUserID: int64(7), sessionFlash: "hello", "on": true})
	f.Add(b)
	f.Add([]byte{sessionCodecVersion, 0, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != sessionCodecVersion {
			return // gob's
		}
		deadline, values, err := sessionCodec{}.Decode(data)
		if err != nil {
			return
		}
		again, err := sessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatalf("decoded values do not encode: %v", err)
		}
		if _, v2, err := (sessionCodec{}).Decode(again); err != nil || len(v2) != len(values) {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
	})
}

func BenchmarkSessionDecode(b *testing.B) {
	values := map[string]any{sessionUserID: int64(12345)}
	deadline := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"gob", scs.GobCodec{}}, {"beckon", sessionCodec{}}} {
		data, err := c.codec.Encode(deadline, values)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
