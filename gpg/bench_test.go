package gpg

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// benchSize is a 64 MiB object: big enough that process start and the RSA
// operation vanish next to the bulk decryption, like a 1.5 GiB partition.
const benchSize = 64 << 20

type benchObject struct {
	name, path string
}

var (
	benchOnce    sync.Once
	benchObjects []benchObject
	benchFailure error
)

// benchmarkObjects encrypts one 64 MiB object as gpg 2.2 (AES256, its
// default, and AES128) and gpg 1.4 (CAST5) write it, into files.
func benchmarkObjects(b *testing.B) (*testKey, []benchObject) {
	b.Helper()
	requireTool(b, "gpg1")
	k := gpg2.key(b, "rsa-plain")
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gbench")
		if err != nil {
			benchFailure = err
			return
		}
		atExit(func() { os.RemoveAll(dir) })
		plain := randomish(benchSize, 42)
		variants := []struct {
			name, tool string
			extra      []string
		}{
			{"AES256-gpg2", "gpg", nil},
			{"AES128-gpg2", "gpg", []string{"--cipher-algo", "AES128"}},
			{"CAST5-gpg1", "gpg1", []string{"--cipher-algo", "CAST5"}},
		}
		for _, v := range variants {
			path := filepath.Join(dir, v.name+".lzo")
			if err := os.WriteFile(path, encrypt(b, v.tool, k, plain, v.extra...), 0o600); err != nil {
				benchFailure = err
				return
			}
			benchObjects = append(benchObjects, benchObject{v.name, path})
		}
	})
	if benchFailure != nil {
		b.Fatal(benchFailure)
	}
	return k, benchObjects
}

// BenchmarkDecrypt compares pgrescue with `gpg --batch -q -d FILE >/dev/null`
// on the same files; both figures include opening the file.
func BenchmarkDecrypt(b *testing.B) {
	k, objects := benchmarkObjects(b)
	keys := k.load(b)
	for _, object := range objects {
		b.Run(object.name+"/pgrescue", func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				decryptFile(b, keys, object.path)
			}
		})
		b.Run(object.name+"/gpg-d", func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				// Stdout stays nil: os/exec connects it to /dev/null.
				cmd := exec.Command("gpg", "--homedir", k.home, "--batch", "-q", "-d", object.path)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("gpg -d: %v\n%s", err, stderr.String())
				}
			}
		})
	}
}

func decryptFile(b *testing.B, keys *Keys, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	plain, err := keys.Decrypt(f, path)
	if err != nil {
		b.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, plain); err != nil || n != benchSize {
		b.Fatalf("decrypted %d bytes: %v", n, err)
	}
}
