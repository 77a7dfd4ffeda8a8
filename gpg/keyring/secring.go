package keyring

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP packet tags of secret key packets (RFC 4880 section 5.5.1).
const (
	tagSecretKey    = 5
	tagSecretSubkey = 7
)

// rawPacket is one packet of secring.gpg exactly as stored, so that the
// packets pgrescue does not change (signatures, user ids, gpg 1's trust
// packets, other keys) are written back byte for byte.
type rawPacket struct {
	tag   int
	bytes []byte // header and body
}

// splitPackets cuts a keyring file into its packets without interpreting them.
func splitPackets(data []byte) ([]rawPacket, error) {
	var packets []rawPacket
	total := len(data)
	for len(data) > 0 {
		tag, size, err := packetExtent(data)
		if err != nil {
			return nil, fmt.Errorf("at byte %d of %d: %w", total-len(data), total, err)
		}
		packets = append(packets, rawPacket{tag: tag, bytes: data[:size]})
		data = data[size:]
	}
	return packets, nil
}

var errBadHeader = errors.New("not an OpenPGP packet header")

// packetExtent reads one packet header and returns the packet's tag and its
// total length. Keyring packets never use partial or indeterminate lengths.
func packetExtent(data []byte) (tag, size int, err error) {
	if data[0]&0x80 == 0 {
		return 0, 0, errBadHeader
	}
	if data[0]&0x40 != 0 {
		return newFormatExtent(data)
	}
	tag = int(data[0]>>2) & 0x0F
	lengthBytes := [4]int{1, 2, 4, 0}[data[0]&3]
	if lengthBytes == 0 || len(data) < 1+lengthBytes {
		return 0, 0, errBadHeader
	}
	body := 0
	for _, b := range data[1 : 1+lengthBytes] {
		body = body<<8 | int(b)
	}
	size, err = within(data, 1+lengthBytes+body)
	return tag, size, err
}

func newFormatExtent(data []byte) (tag, size int, err error) {
	tag = int(data[0] & 0x3F)
	if len(data) < 2 {
		return 0, 0, errBadHeader
	}
	switch first := int(data[1]); {
	case first < 192:
		size, err = within(data, 2+first)
	case first < 224 && len(data) >= 3:
		size, err = within(data, 3+((first-192)<<8)+int(data[2])+192)
	case first == 255 && len(data) >= 6:
		size, err = within(data, 6+(int(data[2])<<24|int(data[3])<<16|int(data[4])<<8|int(data[5])))
	case first < 255 && first >= 224:
		err = errors.New("partial packet length in a keyring")
	default:
		err = errBadHeader
	}
	return tag, size, err
}

func within(data []byte, size int) (int, error) {
	if size > len(data) {
		return 0, errors.New("packet runs past the end of the file")
	}
	return size, nil
}

// secretPacket parses a secret (sub)key packet.
func secretPacket(raw rawPacket) (*packet.PrivateKey, error) {
	p, err := packet.Read(bytes.NewReader(raw.bytes))
	if err != nil {
		return nil, err
	}
	priv, ok := p.(*packet.PrivateKey)
	if !ok {
		return nil, errors.New("not a secret key packet")
	}
	return priv, nil
}

// keyPackets returns the indexes of the secret key packets of the key whose
// primary key id is primary: the primary packet and its subkeys, up to the
// next primary key.
func keyPackets(packets []rawPacket, primary uint64) ([]int, error) {
	var found []int
	inKey := false
	for i, raw := range packets {
		switch raw.tag {
		case tagSecretKey:
			priv, err := secretPacket(raw)
			if err != nil {
				return nil, err
			}
			inKey = priv.KeyId == primary
		case tagSecretSubkey:
		default:
			continue
		}
		if inKey {
			found = append(found, i)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("key 0x%016X is not in secring.gpg", primary)
	}
	return found, nil
}

// rewriteSecring returns the keyring with each secret packet of one key
// passed through change; every other byte is kept.
func rewriteSecring(data []byte, primary uint64, change func(*packet.PrivateKey) error) ([]byte, error) {
	packets, err := splitPackets(data)
	if err != nil {
		return nil, err
	}
	indexes, err := keyPackets(packets, primary)
	if err != nil {
		return nil, err
	}
	for _, i := range indexes {
		priv, err := secretPacket(packets[i])
		if err != nil {
			return nil, err
		}
		if priv.Dummy() {
			continue
		}
		if err := change(priv); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := priv.Serialize(&b); err != nil {
			return nil, err
		}
		packets[i].bytes = b.Bytes()
	}
	var out bytes.Buffer
	for _, raw := range packets {
		out.Write(raw.bytes)
	}
	return out.Bytes(), nil
}
