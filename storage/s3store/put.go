package s3store

import (
	"bytes"
	"context"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Put stores an object whole, as WAL-E does: one PUT with its length
// known (never multipart), with server-side encryption (WAL-E's
// encrypt_key=True) and the given content type ("" for
// application/octet-stream). body is read from its start; the SDK's retries
// seek back to it.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string) error {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	input := &s3.PutObjectInput{
		Bucket:        aws.String(s.loc.Bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	}
	if s.endpoint.URL == "" {
		input.ServerSideEncryption = s3types.ServerSideEncryptionAes256
	}
	if _, err := s.client.PutObject(ctx, input); err != nil {
		return s.explain(ctx, err, opPut, s.URI(key))
	}
	return nil
}

// PutBytes stores a small object held in memory.
func (s *Store) PutBytes(ctx context.Context, key string, data []byte, contentType string) error {
	return s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), contentType)
}

// PutFile stores a file's content, e.g. a compressed and encrypted
// partition spooled to a temporary file so its length is known.
func (s *Store) PutFile(ctx context.Context, key string, f *os.File, contentType string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return s.Put(ctx, key, f, st.Size(), contentType)
}
