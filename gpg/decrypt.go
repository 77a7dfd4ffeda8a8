package gpg

import (
	"bufio"
	"errors"
	"io"

	openpgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/problem"
)

// sourceBufferSize is large because go-crypto reads packet headers a byte at a
// time and gpg writes 8 KiB partial-length chunks; without a buffer every
// header would be a separate read from the network or disk.
const sourceBufferSize = 256 << 10

// sourceReader remembers the first error of the caller's reader, so that a
// network or disk failure is reported as itself rather than as damage.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// message is the part of an encrypted message read before decryption starts.
type message struct {
	sessionKeys []*packet.EncryptedKey
	symmetric   bool                       // a passphrase-encrypted session key is present
	data        packet.EncryptedDataPacket // *packet.SymmetricallyEncrypted or *packet.AEADEncrypted
}

func (m *message) recipients() []uint64 {
	ids := make([]uint64, len(m.sessionKeys))
	for i, ek := range m.sessionKeys {
		ids[i] = ek.KeyId
	}
	return ids
}

// Decrypt returns the plaintext stream of one archived object read from r;
// object names it in error messages (e.g. s3://bucket/key). An object that is
// not encrypted is returned unchanged, whether or not keys were given. With
// k == nil an encrypted object fails with KeyMissing.
//
// The plaintext is streamed, so it is unverified until the end: the returned
// reader reports a failed integrity check as an error from Read instead of
// io.EOF, and callers must treat output as good only after io.EOF.
func (k *Keys) Decrypt(r io.Reader, object string) (io.Reader, error) {
	src := &sourceReader{r: r}
	buffered := bufio.NewReaderSize(src, sourceBufferSize)
	head, _ := buffered.Peek(sniffLength) // a short object is judged on what there is
	if len(head) == 0 && src.err != nil {
		return nil, src.err
	}
	if !IsEncrypted(head) {
		// Plain objects pass through; read errors surface from Read as usual.
		return buffered, nil
	}
	if err := k.ready(); err != nil {
		return nil, err
	}
	msg, err := readMessageHeader(buffered)
	if err != nil {
		return nil, streamFailure(err, src, object, "its OpenPGP packets are malformed")
	}
	if msg.data == nil {
		return nil, streamFailure(io.ErrUnexpectedEOF, src, object, "")
	}
	cipherFunc, sessionKey, err := k.sessionKey(msg, object)
	if err != nil {
		return nil, err
	}
	defer clear(sessionKey)
	return openData(msg.data, cipherFunc, sessionKey, src, object)
}

// CanDecrypt reads an object's OpenPGP header and decrypts its session
// key, and stops there: the key is held, unlocked (its passphrase right)
// and the one the object needs. It reads the header packets only, so a
// restore can check its key before it changes anything. An object that is
// not encrypted needs no key.
func (k *Keys) CanDecrypt(r io.Reader, object string) error {
	src := &sourceReader{r: r}
	buffered := bufio.NewReaderSize(src, 4096)
	head, _ := buffered.Peek(sniffLength)
	if len(head) == 0 && src.err != nil {
		return src.err
	}
	if !IsEncrypted(head) {
		return nil
	}
	if err := k.ready(); err != nil {
		return err
	}
	msg, err := readMessageHeader(buffered)
	if err != nil {
		return streamFailure(err, src, object, "its OpenPGP packets are malformed")
	}
	_, sessionKey, err := k.sessionKey(msg, object)
	clear(sessionKey)
	return err
}

// RecipientKeyIDs returns the key ids in the public-key encrypted session key
// packets of a message: the (sub)keys it is encrypted to; 0 stands for a hidden
// recipient. An object that is not encrypted gives none.
func RecipientKeyIDs(r io.Reader) ([]uint64, error) {
	src := &sourceReader{r: r}
	buffered := bufio.NewReaderSize(src, 4096)
	head, _ := buffered.Peek(sniffLength)
	if len(head) == 0 && src.err != nil {
		return nil, src.err
	}
	if !IsEncrypted(head) {
		return nil, nil
	}
	msg, err := readMessageHeader(buffered)
	if err != nil {
		return nil, streamFailure(err, src, "", "its OpenPGP packets are malformed")
	}
	return msg.recipients(), nil
}

// readMessageHeader reads the session key packets up to the encrypted data
// packet, whose contents are then left unread in r.
func readMessageHeader(r io.Reader) (*message, error) {
	packets := packet.NewReader(r)
	msg := &message{}
	for {
		p, err := packets.Next()
		if err == io.EOF {
			return msg, nil
		}
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			msg.sessionKeys = append(msg.sessionKeys, p)
		case *packet.SymmetricKeyEncrypted:
			msg.symmetric = true
		case *packet.SymmetricallyEncrypted:
			msg.data = p
			return msg, nil
		case *packet.AEADEncrypted:
			msg.data = p
			return msg, nil
		default:
			return nil, openpgperrors.StructuralError("session key packets are not followed by encrypted data")
		}
	}
}

// sessionKey finds a given key that the message is encrypted to, unlocks it
// if need be and decrypts the session key with it.
func (k *Keys) sessionKey(msg *message, object string) (packet.CipherFunction, []byte, error) {
	recipients := msg.recipients()
	if len(recipients) == 0 {
		if msg.symmetric {
			return 0, nil, errSymmetricOnly(object)
		}
		return 0, nil, errCorrupt(object, "it has encrypted data but no session key packet", nil)
	}
	if k == nil || len(k.entities) == 0 {
		return 0, nil, errKeyMissing(object, recipients)
	}
	var firstFailure error
	tried := false
	for _, ek := range msg.sessionKeys {
		for _, sk := range k.candidates(ek) {
			tried = true
			key, err := k.decryptSessionKey(ek, sk, object)
			if err == nil {
				return ek.CipherFunc, key, nil
			}
			if firstFailure == nil || problem.Is(firstFailure, problem.Corrupt) {
				firstFailure = err
			}
		}
	}
	switch {
	case !tried:
		return 0, nil, errWrongKey(object, recipients, k.Describe())
	case onlyHiddenRecipients(recipients) && problem.Is(firstFailure, problem.Corrupt):
		return 0, nil, errHiddenRecipient(object, k.Describe())
	}
	return 0, nil, firstFailure
}

func onlyHiddenRecipients(ids []uint64) bool {
	for _, id := range ids {
		if id != 0 {
			return false
		}
	}
	return true
}

// candidates lists the secret keys that may open ek: those with its key id,
// or, for a hidden recipient, every key that can decrypt.
func (k *Keys) candidates(ek *packet.EncryptedKey) []*secretKey {
	if ek.KeyId != 0 {
		return k.byID[ek.KeyId]
	}
	var all []*secretKey
	for _, e := range k.entities {
		for _, sk := range e.keys {
			if sk.priv.PubKeyAlgo == ek.Algo {
				all = append(all, sk)
			}
		}
	}
	return all
}

func (k *Keys) decryptSessionKey(ek *packet.EncryptedKey, sk *secretKey, object string) ([]byte, error) {
	if sk.stub {
		return nil, errKeyStub(object, sk.owner.info.clone(), sk.id)
	}
	priv, err := k.unlocked(sk, object)
	if err != nil {
		return nil, err
	}
	// The packet is this call's own: Decrypt stores the session key in it.
	if err := ek.Decrypt(priv, nil); err != nil {
		return nil, errCorrupt(object, "its encrypted session key cannot be decrypted with key "+keyID(sk.id), err)
	}
	return ek.Key, nil
}

// openData starts decrypting the encrypted data packet and positions the
// result at the start of the literal data, which is what WAL-E stored.
func openData(data packet.EncryptedDataPacket, cipherFunc packet.CipherFunction, key []byte, src *sourceReader, object string) (io.Reader, error) {
	decrypted, err := decryptData(data, cipherFunc, key, src, object)
	if err != nil {
		return nil, err
	}
	body, err := literalBody(decrypted)
	if err != nil {
		return nil, streamFailure(err, src, object, "its decrypted contents are not an OpenPGP literal data packet")
	}
	return &plaintext{body: body, decrypted: decrypted, src: src, object: object}, nil
}

func decryptData(data packet.EncryptedDataPacket, cipherFunc packet.CipherFunction, key []byte, src *sourceReader, object string) (io.ReadCloser, error) {
	if se, ok := data.(*packet.SymmetricallyEncrypted); ok {
		if !se.IntegrityProtected {
			return nil, errUnsupported(object, "encrypted data without integrity protection (gpg 1.x with --disable-mdc or a key without the MDC feature)")
		}
		if se.Version == 1 {
			return newMDCReader(se.Contents, cipherFunc, key, src, object)
		}
	}
	// AEAD encrypted data (GnuPG 2.3+, RFC 9580): go-crypto checks each chunk.
	decrypted, err := data.Decrypt(cipherFunc, key)
	if err != nil {
		return nil, streamFailure(err, src, object, "its encrypted data cannot be opened")
	}
	return decrypted, nil
}

// literalBody skips to the literal data packet: WAL-E's gpg -z 0 writes it
// directly, other writers may compress it or sign it first.
func literalBody(decrypted io.Reader) (io.Reader, error) {
	packets := packet.NewReader(decrypted)
	for {
		p, err := packets.Next()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *packet.LiteralData:
			return p.Body, nil
		case *packet.Compressed:
			if err := packets.Push(p.Body); err != nil {
				return nil, err
			}
		case *packet.OnePassSignature:
			// The signature that follows the data is not checked: WAL-E never signs.
		default:
			return nil, openpgperrors.StructuralError("unexpected packet before the literal data")
		}
	}
}

// plaintext is the reader Decrypt returns: the literal data, ending with
// io.EOF only after the integrity check of the whole message passed.
type plaintext struct {
	body      io.Reader
	decrypted io.ReadCloser
	src       *sourceReader
	object    string
	err       error // sticky: io.EOF after a verified end, or the failure
}

func (p *plaintext) Read(buf []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.body.Read(buf)
	switch {
	case err == io.EOF:
		p.err = p.finish()
	case err != nil:
		p.err = p.failure(err)
	}
	if p.err != nil && n > 0 && p.err != io.EOF {
		// Hand out nothing more once the data is known to be bad.
		return 0, p.err
	}
	return n, p.err
}

// finish reads whatever follows the literal data (a signature, padding) so
// that the integrity check at the very end of the message runs.
func (p *plaintext) finish() error {
	if _, err := io.Copy(io.Discard, p.decrypted); err != nil {
		return p.failure(err)
	}
	if err := p.decrypted.Close(); err != nil {
		return p.failure(err)
	}
	return io.EOF
}

func (p *plaintext) failure(err error) error {
	var pe *problem.Error
	switch {
	case errors.As(err, &pe):
		return err
	case errors.Is(err, openpgperrors.ErrMDCHashMismatch) || errors.Is(err, openpgperrors.ErrAEADTagVerification):
		return errCorrupt(p.object, "its integrity check failed", err)
	case p.integrityVerified():
		// The encrypted data was complete and intact, so a short literal
		// packet is a malformed message, not a short download.
		return errCorrupt(p.object, "its decrypted contents are malformed", err)
	}
	return streamFailure(err, p.src, p.object, "its decrypted contents are malformed")
}

func (p *plaintext) integrityVerified() bool {
	v, ok := p.decrypted.(interface{ verified() bool })
	return ok && v.verified()
}
