package gpg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/problem"
)

// maxKeyFileSize bounds what LoadKeys reads: exported keys are a few KiB, so
// anything larger is the wrong file (an archive object, a keybox).
const maxKeyFileSize = 16 << 20

// KeyInfo describes one secret key (a primary key with its subkeys) as loaded.
type KeyInfo struct {
	Fingerprint      string    // primary key fingerprint, upper-case hex
	KeyID            uint64    // long key id of the primary key
	UserIDs          []string  // e.g. "WAL-E <postgres@db-1>"
	SubkeyIDs        []uint64  // every subkey, in file order
	EncryptionKeyIDs []uint64  // primary key or subkeys whose secret part is present and that can decrypt
	Protected        bool      // a secret part is protected by a passphrase
	Source           string    // the file (or description) it was loaded from
	Parts            []KeyPart // the primary key first, then each subkey, in file order
}

// String names the key as an engineer would look it up: long id and first user id.
func (i KeyInfo) String() string {
	s := keyID(i.KeyID)
	if len(i.UserIDs) > 0 {
		s += fmt.Sprintf(" %q", i.UserIDs[0])
	}
	return s
}

// describe adds where the key came from, for error messages.
func (i KeyInfo) describe() string {
	if i.Source == "" {
		return i.String()
	}
	return i.String() + " from " + i.Source
}

func (i KeyInfo) clone() KeyInfo {
	i.UserIDs = append([]string(nil), i.UserIDs...)
	i.SubkeyIDs = append([]uint64(nil), i.SubkeyIDs...)
	i.EncryptionKeyIDs = append([]uint64(nil), i.EncryptionKeyIDs...)
	i.Parts = append([]KeyPart(nil), i.Parts...)
	return i
}

// Keys holds secret keys for decrypting archive objects. It is safe for
// concurrent use by many goroutines: each protected key is unlocked once, by
// the first decryption that needs it, and shared afterwards.
type Keys struct {
	mu         sync.Mutex // guards passphrase
	passphrase PassphraseFunc

	entities []*entity
	byID     map[uint64][]*secretKey // immutable after loading

	// load, when set, reads the keys on first use (see LazyKeys).
	load     func() (*Keys, error)
	loadOnce sync.Once
	loadErr  error
}

// LazyKeys returns Keys read by load the first time one is needed. Reading
// a GnuPG 2 keyring can require the key's passphrase (gpg re-encrypts the
// key it exports), and commands that decrypt nothing must never ask for it.
func LazyKeys(load func() (*Keys, error)) *Keys { return &Keys{load: load} }

// ready loads lazy keys once; every reader of entities and byID calls it
// first, so the sync.Once orders their reads after the load.
func (k *Keys) ready() error {
	if k == nil || k.load == nil {
		return nil
	}
	k.loadOnce.Do(func() {
		loaded, err := k.load()
		if err != nil {
			k.loadErr = err
			return
		}
		k.entities, k.byID = loaded.entities, loaded.byID
		if k.passphraseFunc() == nil {
			k.SetPassphrase(loaded.passphraseFunc())
		}
	})
	return k.loadErr
}

// entity is a primary key and its subkeys, unlocked together with one passphrase.
type entity struct {
	info KeyInfo // immutable after loading

	// mu guards asked and every secretKey's priv and failure: go-crypto
	// decrypts a protected key in place, so no one may read it while it is
	// being unlocked. Holding mu during the prompt also makes concurrent
	// decryptions wait for the one passphrase instead of asking again.
	mu    sync.Mutex
	asked bool
	keys  []*secretKey
}

// secretKey is one key packet (primary or subkey) with its secret part.
type secretKey struct {
	owner   *entity
	id      uint64
	stub    bool // GnuPG stub: the secret part is not in the file
	priv    *packet.PrivateKey
	failure *problem.Error // why it could not be unlocked; an empty Subject is filled per object
	usage   keyUsage       // what the self-signatures allow; read while loading only
	part    int            // index in owner.info.Parts
}

// SetPassphrase sets how a passphrase is obtained for protected keys. Without
// one, decrypting with a protected key fails with PassphraseNeeded.
func (k *Keys) SetPassphrase(f PassphraseFunc) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.passphrase = f
}

func (k *Keys) passphraseFunc() PassphraseFunc {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.passphrase
}

// Describe lists the keys loaded, in file order.
func (k *Keys) Describe() []KeyInfo {
	if k == nil || k.ready() != nil {
		return nil
	}
	infos := make([]KeyInfo, len(k.entities))
	for i, e := range k.entities {
		infos[i] = e.info.clone()
	}
	return infos
}

// LoadKeyFile reads secret keys exported by `gpg --export-secret-keys`,
// armored or binary, one key or several.
func LoadKeyFile(path string) (*Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot open the GPG key file",
			fmt.Sprintf("check the path given to %s and that this user may read it", keyFlag))
	}
	defer f.Close()
	return LoadKeys(f, path)
}

// LoadKeys reads secret keys from r; source names r in error messages.
func LoadKeys(r io.Reader, source string) (*Keys, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFileSize+1))
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, source, "cannot read the GPG key file",
			fmt.Sprintf("check the path given to %s and that this user may read it", keyFlag))
	}
	if len(data) > maxKeyFileSize {
		return nil, errBadKey(source, "it is larger than any exported key (over 16 MiB), so it is not a key file", nil)
	}
	bodies, err := keyPacketStreams(data, source)
	if err != nil {
		return nil, err
	}
	keys := &Keys{byID: make(map[uint64][]*secretKey)}
	publicOnly := 0
	for _, body := range bodies {
		entities, publics, err := readEntities(body, source)
		if err != nil {
			return nil, err
		}
		publicOnly += publics
		keys.add(entities)
	}
	if len(keys.entities) == 0 {
		return nil, errNoSecretKey(source, publicOnly)
	}
	return keys, nil
}

func (k *Keys) add(entities []*entity) {
	for _, e := range entities {
		k.entities = append(k.entities, e)
		for _, sk := range e.keys {
			k.byID[sk.id] = append(k.byID[sk.id], sk)
		}
	}
}

func errBadKey(source, why string, cause error) *problem.Error {
	e := problem.Wrap(cause, problem.BadKey, source, "cannot read the GPG key file as an OpenPGP secret key",
		fmt.Sprintf("export the secret key with %s, and pass that file with %s", exportCommand(exportTarget(nil)), keyFlag))
	e.Detail = why
	if cause != nil {
		e.Detail += " (" + cause.Error() + ")"
	}
	return e
}

func errNoSecretKey(source string, publicOnly int) *problem.Error {
	if publicOnly > 0 {
		return errBadKey(source, "it holds only public keys (as `gpg --export` writes), and decrypting needs the secret key", nil)
	}
	return errBadKey(source, "it holds no OpenPGP key", nil)
}

// keyPacketStreams returns the binary packet streams in data: the file itself,
// or the body of each armored block (files are sometimes concatenations).
func keyPacketStreams(data []byte, source string) ([][]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errBadKey(source, "it is empty", nil)
	}
	if !bytes.Contains(trimmed, []byte("-----BEGIN PGP ")) {
		if hint := notOpenPGPHint(trimmed); hint != "" {
			return nil, errBadKey(source, hint, nil)
		}
		return [][]byte{data}, nil
	}
	var bodies [][]byte
	rest := data
	for {
		start := bytes.Index(rest, []byte("-----BEGIN PGP "))
		if start < 0 {
			return bodies, nil
		}
		block, err := armor.Decode(bytes.NewReader(rest[start:]))
		if err != nil {
			return nil, errBadKey(source, "its armored (text) block is damaged", err)
		}
		body, err := io.ReadAll(block.Body)
		if err != nil {
			return nil, errBadKey(source, "its armored (text) block is damaged", err)
		}
		switch block.Type {
		case "PGP PRIVATE KEY BLOCK", "PGP PUBLIC KEY BLOCK":
			bodies = append(bodies, body)
		case "PGP MESSAGE":
			return nil, errBadKey(source, "it holds an encrypted message, not a key", nil)
		default:
			return nil, errBadKey(source, fmt.Sprintf("it holds a %q block, not a key", block.Type), nil)
		}
		end := bytes.Index(rest[start:], []byte("-----END PGP "))
		if end < 0 {
			return bodies, nil
		}
		rest = rest[start+end+len("-----END PGP "):]
	}
}

// notOpenPGPHint recognises files people pick by mistake from a GnuPG home.
func notOpenPGPHint(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("(")) || bytes.Contains(data, []byte("Key: (")):
		return "it is a GnuPG private-keys-v1.d file, which only gpg-agent reads"
	case bytes.Contains(data[:min(len(data), 16)], []byte("KBXf")):
		return "it is a GnuPG keybox (pubring.kbx), which holds public keys only"
	case hasLzopMagic(data) || IsEncrypted(data):
		return "it is an archive object, not a key"
	}
	return ""
}

// readEntities groups the key packets of one stream into entities. It does
// not verify self-signatures: the file is the operator's own export, and a
// restore must not fail because an old key's binding signature uses a hash
// that a library has since retired.
func readEntities(body []byte, source string) (secret []*entity, publicOnly int, err error) {
	packets := packet.NewReader(bytes.NewReader(body))
	g := &entityGrouper{source: source}
	for {
		p, err := packets.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, errBadKey(source, "its OpenPGP packets cannot be parsed", err)
		}
		if err := g.add(p); err != nil {
			return nil, 0, err
		}
	}
	g.flush()
	if len(g.secret) > 0 {
		return g.secret, 0, nil
	}
	return nil, g.publicOnly, nil
}

// entityGrouper follows the packet order of an exported key: primary key,
// user ids and their signatures, then each subkey with its binding signature.
type entityGrouper struct {
	source     string
	secret     []*entity
	publicOnly int
	current    *entity
	lastUsage  *keyUsage // of the last secret key packet, whose self-signatures follow it
}

func (g *entityGrouper) add(p packet.Packet) error {
	switch p := p.(type) {
	case *packet.PrivateKey:
		if !p.IsSubkey {
			g.flush()
			g.current = newEntity(&p.PublicKey, g.source)
		}
		if g.current == nil {
			return errBadKey(g.source, "it holds a subkey without its primary key", nil)
		}
		g.lastUsage = g.current.addSecret(p)
	case *packet.PublicKey:
		if !p.IsSubkey {
			g.flush()
			g.publicOnly++
			g.current = newEntity(p, g.source)
		} else if g.current != nil {
			g.current.info.SubkeyIDs = append(g.current.info.SubkeyIDs, p.KeyId)
			g.current.info.Parts = append(g.current.info.Parts, partOf(p, SecretMissing))
		}
		g.lastUsage = nil
	case *packet.UserId:
		if g.current != nil {
			g.current.info.UserIDs = append(g.current.info.UserIDs, p.Id)
		}
	case *packet.Signature:
		if g.lastUsage != nil && p.IssuerKeyId != nil && *p.IssuerKeyId == g.current.info.KeyID {
			g.lastUsage.record(p)
		}
	}
	return nil
}

// flush keeps the entity read so far if it has any secret key.
func (g *entityGrouper) flush() {
	if g.current != nil && len(g.current.keys) > 0 {
		g.current.finish()
		g.secret = append(g.secret, g.current)
	}
	g.current = nil
}

// keyUsage remembers what the self-signatures say a key may do, to list the
// keys that can decrypt (without flags, the algorithm decides), and when the
// key expires (the newest self-signature decides, as in gpg).
type keyUsage struct {
	flagged  bool
	encrypt  bool
	newest   time.Time
	lifetime uint32 // seconds after creation; 0: never expires
}

func (u *keyUsage) record(sig *packet.Signature) {
	if sig.FlagsValid {
		u.flagged = true
		u.encrypt = u.encrypt || sig.FlagEncryptCommunications || sig.FlagEncryptStorage
	}
	if !sig.CreationTime.Before(u.newest) {
		u.newest = sig.CreationTime
		u.lifetime = 0
		if sig.KeyLifetimeSecs != nil {
			u.lifetime = *sig.KeyLifetimeSecs
		}
	}
}

func newEntity(primary *packet.PublicKey, source string) *entity {
	return &entity{info: KeyInfo{
		Fingerprint: strings.ToUpper(fmt.Sprintf("%x", primary.Fingerprint)),
		KeyID:       primary.KeyId,
		Source:      source,
	}}
}

func (e *entity) addSecret(p *packet.PrivateKey) *keyUsage {
	sk := &secretKey{owner: e, id: p.KeyId, priv: p, stub: p.Dummy(), part: len(e.info.Parts)}
	e.keys = append(e.keys, sk)
	e.info.Parts = append(e.info.Parts, partOf(&p.PublicKey, protectionOf(p)))
	if p.IsSubkey {
		e.info.SubkeyIDs = append(e.info.SubkeyIDs, p.KeyId)
	}
	if p.Encrypted && !sk.stub {
		e.info.Protected = true
	}
	return &sk.usage
}

// finish lists the keys that can decrypt and when each expires, now that
// all signatures are read.
func (e *entity) finish() {
	for _, sk := range e.keys {
		part := &e.info.Parts[sk.part]
		if sk.usage.lifetime != 0 {
			part.Expires = part.Created.Add(time.Duration(sk.usage.lifetime) * time.Second)
		}
		if !sk.priv.PubKeyAlgo.CanEncrypt() || (sk.usage.flagged && !sk.usage.encrypt) {
			continue
		}
		part.Encrypt = true
		if !sk.stub {
			e.info.EncryptionKeyIDs = append(e.info.EncryptionKeyIDs, sk.id)
		}
	}
}

// unlocked returns the usable private key of sk, asking for the passphrase
// of its entity the first time one of its protected keys is needed.
func (k *Keys) unlocked(sk *secretKey, object string) (*packet.PrivateKey, error) {
	e := sk.owner
	e.mu.Lock()
	defer e.mu.Unlock()
	if !sk.priv.Encrypted {
		return sk.priv, nil
	}
	if !e.asked {
		e.asked = true
		e.unlockAll(k.passphraseFunc())
		if !sk.priv.Encrypted {
			return sk.priv, nil
		}
	}
	if sk.failure == nil {
		// Cannot happen: unlockAll either unlocks a key or records why not.
		return nil, errPassphraseNeeded(object, e.info.clone(), errors.New("key still locked"))
	}
	failure := *sk.failure
	if failure.Subject == "" {
		failure.Subject = object
	}
	return nil, &failure
}

// unlockAll asks for the passphrase once and unlocks every protected key of
// the entity with it, so later objects encrypted to another subkey need no
// second prompt. The passphrase is wiped as soon as it has been used.
// Called with e.mu held.
func (e *entity) unlockAll(ask PassphraseFunc) {
	passphrase, failure := e.askPassphrase(ask)
	defer clear(passphrase)
	for _, sk := range e.keys {
		if !sk.priv.Encrypted || sk.stub {
			continue
		}
		if failure != nil {
			sk.failure = failure
			continue
		}
		if err := sk.priv.Decrypt(passphrase); err != nil {
			sk.failure = errWrongPassphrase("", e.info.clone())
		}
	}
}

func (e *entity) askPassphrase(ask PassphraseFunc) ([]byte, *problem.Error) {
	if ask == nil {
		return nil, errPassphraseNeeded("", e.info.clone(), nil)
	}
	passphrase, err := ask(e.info.clone())
	if err != nil {
		clear(passphrase)
		var pe *problem.Error
		if errors.As(err, &pe) {
			copied := *pe
			return nil, &copied
		}
		return nil, errPassphraseNeeded("", e.info.clone(), err)
	}
	if len(passphrase) == 0 {
		return nil, errPassphraseNeeded("", e.info.clone(), nil)
	}
	return passphrase, nil
}
