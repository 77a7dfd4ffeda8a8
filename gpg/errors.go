package gpg

import (
	"errors"
	"fmt"
	"io"
	"strings"

	openpgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"

	"pgrescue/problem"
)

// PassphraseEnv is the environment variable the error messages point to for
// a passphrase; the command line reads it with PassphraseFromEnv.
const PassphraseEnv = "PGRESCUE_GPG_PASSPHRASE"

// The flags named in next steps; the command line must define them.
const (
	keyFlag            = "--gpg-key"
	passphraseFileFlag = "--gpg-passphrase-file"
)

// walEKeyIDFile is where GOV.UK's machines keep WALE_GPG_KEY_ID (runbook).
const walEKeyIDFile = "/etc/wal-e/env.d/WALE_GPG_KEY_ID"

// exportCommand tells how to get a key file gpg can give and pgrescue can read.
func exportCommand(id string) string {
	return fmt.Sprintf("`gpg --export-secret-keys --armor %s > FILE`, run as the user that holds the key "+
		"(on the database machine usually `sudo -iu postgres`)", id)
}

func keyID(id uint64) string {
	if id == 0 {
		return "(hidden recipient)"
	}
	return fmt.Sprintf("0x%016X", id)
}

func keyIDList(ids []uint64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = keyID(id)
	}
	return strings.Join(parts, ", ")
}

// exportTarget is the id to put in the export command: the first named
// recipient (gpg exports the whole key when given a subkey id).
func exportTarget(recipients []uint64) string {
	for _, id := range recipients {
		if id != 0 {
			return keyID(id)
		}
	}
	return "$(cat " + walEKeyIDFile + ")"
}

func errKeyMissing(object string, recipients []uint64) *problem.Error {
	e := problem.New(problem.KeyMissing, object,
		"this archived object is GPG-encrypted and no secret key was given",
		fmt.Sprintf("pass %s FILE with the secret key, exported by %s", keyFlag, exportCommand(exportTarget(recipients))))
	e.Detail = fmt.Sprintf("it is encrypted to key %s (usually the encryption subkey of the key whose id is in %s)",
		keyIDList(recipients), walEKeyIDFile)
	return e
}

func errSymmetricOnly(object string) *problem.Error {
	e := problem.New(problem.KeyMissing, object,
		"this archived object is encrypted with a passphrase only (gpg --symmetric), not to a key",
		"WAL-E never writes such objects: check that WALE_S3_PREFIX points at a WAL-E archive, or decrypt this object with `gpg -d`")
	e.Detail = "pgrescue decrypts objects encrypted to a GPG key, as WAL-E writes them"
	return e
}

func errWrongKey(object string, recipients []uint64, given []KeyInfo) *problem.Error {
	e := problem.New(problem.WrongKey, object,
		"the GPG key given is not the one this archived object is encrypted to",
		fmt.Sprintf("pass %s FILE with the secret key whose primary key or subkey is %s, exported by %s; "+
			"`gpg --list-secret-keys --keyid-format long` shows which keys a machine holds",
			keyFlag, keyIDList(recipients), exportCommand(exportTarget(recipients))))
	e.Detail = fmt.Sprintf("the object is encrypted to key %s, but the key file holds %s",
		keyIDList(recipients), describeGiven(given))
	return e
}

// describeGiven lists every key id of the keys given, primary and subkeys,
// since the recipient id may be either.
func describeGiven(given []KeyInfo) string {
	if len(given) == 0 {
		return "no secret key"
	}
	parts := make([]string, len(given))
	for i, info := range given {
		part := "key " + info.String()
		if subkeys := info.SubkeyIDs; len(subkeys) > 0 {
			part += " with subkeys " + keyIDList(subkeys)
		}
		parts[i] = part
	}
	return strings.Join(parts, "; ")
}

func errHiddenRecipient(object string, given []KeyInfo) *problem.Error {
	e := problem.New(problem.WrongKey, object,
		"none of the GPG keys given can decrypt this archived object",
		fmt.Sprintf("pass %s FILE with the secret key exported by %s", keyFlag, exportCommand(exportTarget(nil))))
	e.Detail = fmt.Sprintf("the object hides its recipient (gpg --hidden-recipient), and the key file holds %s",
		describeGiven(given))
	return e
}

func errPassphraseNeeded(object string, key KeyInfo, cause error) *problem.Error {
	e := problem.Wrap(cause, problem.PassphraseNeeded, object,
		"the GPG secret key is protected by a passphrase and none was given",
		fmt.Sprintf("give the passphrase with %s FILE (a file holding only the passphrase), or in the %s environment variable, "+
			"or run pgrescue on a terminal to be asked for it", passphraseFileFlag, PassphraseEnv))
	e.Detail = fmt.Sprintf("key %s is needed to decrypt this object. "+
		"The runbook warns that WAL-E does not work with password-protected GPG secret keys: restores then fail "+
		"with misleading errors about files not having a valid lzo or tar header. "+
		"pgrescue unlocks the key in memory only and never writes it or the passphrase anywhere", key.describe())
	if cause != nil {
		e.Detail += " (" + cause.Error() + ")"
	}
	return e
}

func errWrongPassphrase(object string, key KeyInfo) *problem.Error {
	e := problem.New(problem.WrongPassphrase, object,
		"the passphrase given does not unlock the GPG secret key",
		fmt.Sprintf("check the passphrase (the runbook keeps it with the secrets) and how it is passed: "+
			"a %s file must hold only the passphrase (one trailing newline is ignored, any other space counts)", passphraseFileFlag))
	e.Detail = fmt.Sprintf("key %s rejected it; it was asked for once and is not retried", key.describe())
	return e
}

func errKeyStub(object string, key KeyInfo, id uint64) *problem.Error {
	e := problem.New(problem.BadKey, object,
		"the key file lacks the secret part of the key this object is encrypted to",
		"export the key again on a machine that holds its secret part, with "+exportCommand(keyID(id)))
	e.Detail = fmt.Sprintf("key %s holds only a stub for %s: its secret part stayed on a smartcard, "+
		"or was left out when the key was exported", key.describe(), keyID(id))
	return e
}

const redownloadAdvice = "download the object again and compare its size with the S3 listing; if the copy in S3 is damaged too, " +
	"restore from another base backup, or stop recovery before this WAL segment"

func errCorrupt(object, what string, cause error) *problem.Error {
	e := problem.Wrap(cause, problem.Corrupt, object, "this archived object is damaged: "+what, redownloadAdvice)
	return e
}

func errMDCMismatch(object string) *problem.Error {
	e := errCorrupt(object, "its integrity check (the OpenPGP MDC) failed", openpgperrors.ErrMDCHashMismatch)
	e.Detail = "the SHA-1 checksum stored at the end of the encrypted data does not match the decrypted data, " +
		"so bytes were changed or lost after gpg wrote it"
	return e
}

func errTruncated(object string, cause error) *problem.Error {
	return problem.Wrap(cause, problem.Truncated, object,
		"this archived object ended before its encrypted data was complete",
		"the download or copy stopped early: fetch the object again and check that its size matches the S3 listing")
}

func errUnsupported(object, what string) *problem.Error {
	return problem.New(problem.Corrupt, object,
		"this archived object uses an OpenPGP feature pgrescue cannot decrypt: "+what,
		"decrypt it with `gpg -d` on a machine that has the key, and report the message above to the pgrescue maintainers")
}

// streamFailure turns a failure met while reading an encrypted object into a
// diagnosis. Errors of the caller's own reader are returned unchanged, since
// the caller knows whether they mean a network or a local I/O failure.
func streamFailure(err error, src *sourceReader, object, what string) error {
	var pe *problem.Error
	switch {
	case errors.As(err, &pe):
		return err
	case src.err != nil:
		return src.err
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errTruncated(object, err)
	default:
		return errCorrupt(object, what, err)
	}
}
