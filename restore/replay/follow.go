package replay

import (
	"context"

	"pgrescue/restore/pglog"
)

// followed is one line of the server log and the file it came from.
type followed struct {
	file, text string
}

// followLog sends the log's lines from offset on, following rotation and
// the logging collector, until ctx is cancelled.
func followLog(ctx context.Context, path string, offset int64, dataDir string, out chan<- followed) error {
	f := pglog.NewFollower(pglog.FollowOptions{Path: path, Offset: offset, DataDir: dataDir})
	return f.Run(ctx, func(l pglog.FollowedLine) {
		select {
		case out <- followed{file: l.File, text: l.Text}:
		case <-ctx.Done(): // the replay has ended: nobody reads any more
		}
	})
}
