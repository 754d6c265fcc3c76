package ticket

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFleetSharingOneFileInteroperates(t *testing.T) {
	content := randomBytes(t, 3*KeySize)
	// Two instances, each reading its own copy of the distributed file.
	first, err := FromFile(writeKeyFile(t, content, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	second, err := FromFile(writeKeyFile(t, content, 0o640))
	if err != nil {
		t.Fatal(err)
	}
	ticket := seal(t, first, []byte("session from instance 1"), aad13)
	if !bytes.Equal(ticket[:NameSize], content[:NameSize]) {
		t.Fatal("the ticket is not sealed under the file's first key")
	}
	got, ok := second.Open(nil, ticket, aad13)
	if !ok || string(got) != "session from instance 1" {
		t.Fatalf("instance 2 opened %q, %v; want instance 1's session", got, ok)
	}
	if !opens(first, seal(t, second, []byte("back"), aad12), aad12) {
		t.Fatal("instance 1 does not open instance 2's ticket")
	}
}

func TestDifferentFilesDoNotInteroperate(t *testing.T) {
	first, err := FromFile(writeKeyFile(t, randomBytes(t, KeySize), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	second, err := FromFile(writeKeyFile(t, randomBytes(t, KeySize), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if opens(second, seal(t, first, []byte("state"), aad13), aad13) {
		t.Fatal("a ticket opened under a different key file")
	}
}

// TestFileRotationSteps follows the staged rotation the FromFile
// documentation tells operators to do.
func TestFileRotationSteps(t *testing.T) {
	oldKey, newKey := randomBytes(t, KeySize), randomBytes(t, KeySize)
	load := func(records ...[]byte) *Keys {
		t.Helper()
		k, err := FromFile(writeKeyFile(t, bytes.Join(records, nil), 0o600))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	before, staged, promoted, retired := load(oldKey), load(oldKey, newKey), load(newKey, oldKey), load(newKey)

	fromBefore := seal(t, before, []byte("1"), aad13)
	fromStaged := seal(t, staged, []byte("2"), aad13)
	fromPromoted := seal(t, promoted, []byte("3"), aad13)
	if !opens(promoted, fromBefore, aad13) || !opens(before, fromStaged, aad13) {
		t.Fatal("staging broke tickets across instances on neighbouring steps")
	}
	if !opens(staged, fromPromoted, aad13) || !opens(retired, fromPromoted, aad13) {
		t.Fatal("the promoted key's tickets do not open on the staged or retired step")
	}
	if opens(retired, fromBefore, aad13) {
		t.Fatal("a retired key still opens its tickets")
	}
}

func TestBadKeyFilesNameTheFileAndTheFault(t *testing.T) {
	duplicate := randomBytes(t, 2*KeySize)
	copy(duplicate[KeySize:KeySize+NameSize], duplicate[:NameSize])
	zeroSecond := append(randomBytes(t, KeySize), make([]byte, KeySize)...)

	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"empty", nil, 0o600, "empty"},
		{"short", randomBytes(t, 47), 0o600, "47 bytes is not a multiple of 80"},
		{"nginx 48-byte", randomBytes(t, 48), 0o600, "48 bytes is not a multiple of 80"},
		{"one byte over", randomBytes(t, KeySize+1), 0o600, "81 bytes is not a multiple of 80"},
		{"too many keys", randomBytes(t, (MaxKeys+1)*KeySize), 0o600, "at most 16 keys"},
		{"all-zero key", zeroSecond, 0o600, "key 2 is all zero bytes"},
		{"duplicate names", duplicate, 0o600, "keys 1 and 2 have the same name"},
		{"world-readable", randomBytes(t, KeySize), 0o644, "mode 0644 lets other users"},
		{"world-writable", randomBytes(t, KeySize), 0o602, "mode 0602 lets other users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKeyFile(t, tt.content, tt.mode)
			k, err := FromFile(path)
			if err == nil {
				t.Fatalf("FromFile accepted the file (%d keys)", len(k.snapshot()))
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q; want it to name %s and say %q", err, path, tt.want)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no-such.key")
		_, err := FromFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("error %v; want it to name %s and say it does not exist", err, path)
		}
	})
	t.Run("directory", func(t *testing.T) {
		path := t.TempDir()
		_, err := FromFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("error %v; want it to name %s and say it is not a regular file", err, path)
		}
	})
}

func TestMaxKeysFileAccepted(t *testing.T) {
	content := randomBytes(t, MaxKeys*KeySize)
	k, err := FromFile(writeKeyFile(t, content, 0o400))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.snapshot()) != MaxKeys {
		t.Fatalf("%d keys, want %d", len(k.snapshot()), MaxKeys)
	}
	for i, key := range k.snapshot() {
		if !bytes.Equal(key.name[:], content[i*KeySize:i*KeySize+NameSize]) {
			t.Fatalf("key %d has the wrong name", i+1)
		}
	}
}
