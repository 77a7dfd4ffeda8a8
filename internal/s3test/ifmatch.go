package s3test

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// ifMatchOnRead gives GET and HEAD the If-Match check S3 does and gofakes3
// v1.2.0 does not (it honours If-Match on PUT only): when the object's ETag
// differs, S3 answers 412 PreconditionFailed instead of the new content.
// Resumed downloads rely on that to never splice two versions.
type ifMatchOnRead struct {
	backend *s3mem.Backend
	next    http.Handler
}

func (h ifMatchOnRead) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want := r.Header.Get("If-Match")
	bucket, key := splitPath(r.URL.Path)
	if want == "" || key == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.next.ServeHTTP(w, r)
		return
	}
	obj, err := h.backend.HeadObject(bucket, key)
	if err != nil { // missing bucket or key: gofakes3 gives S3's answer
		h.next.ServeHTTP(w, r)
		return
	}
	obj.Contents.Close()
	if !etagMatches(want, hex.EncodeToString(obj.Hash)) {
		Respond(http.StatusPreconditionFailed, "PreconditionFailed",
			"At least one of the pre-conditions you specified did not hold").Serve(w, r, h.next)
		return
	}
	h.next.ServeHTTP(w, r)
}

// etagMatches compares an If-Match list ("*", or quoted ETags separated by
// commas) with an object's hex MD5.
func etagMatches(ifMatch, hexHash string) bool {
	for _, candidate := range strings.Split(ifMatch, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.Trim(candidate, `"`) == hexHash {
			return true
		}
	}
	return false
}
