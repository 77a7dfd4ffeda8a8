package rdssim

import (
	"slices"
	"strconv"
	"strings"
)

// AWS's defaults for what a restore is not told.
const (
	defaultSubnetGroup   = "default"
	defaultVPC           = "vpc-default0"
	defaultSecurityGroup = "sg-default0"
	defaultCACertificate = "rds-ca-rsa2048-g1"
	// endpointInfix stands for the 12 characters AWS derives from the
	// account and region in every endpoint address.
	endpointInfix = "abcdefghijkl"
)

var (
	storageTypes = []string{"standard", "gp2", "gp3", "io1", "io2"}
	sourceTypes  = []string{"db-instance", "db-parameter-group", "db-security-group", "db-snapshot",
		"db-cluster", "db-cluster-snapshot", "custom-engine-version", "db-proxy", "blue-green-deployment",
		"db-shard-group", "zero-etl"}
	// hostedZones are the Route 53 zones of RDS endpoints in the regions a
	// trainee is likely to pick.
	hostedZones = map[string]string{
		"eu-west-1": "Z29XKXDKYMONMX", "eu-west-2": "Z1TTGA775OQIYO", "eu-central-1": "Z1RLNUO7B9Q6NB",
		"us-east-1": "Z2R2ITUGPM61AM", "us-west-2": "Z1PVIF0B656C1W",
	}
)

func knownStorageType(t string) bool { return slices.Contains(storageTypes, t) }

// validIdentifier applies AWS's rule for DB instance identifiers: 1 to 63
// letters, digits or hyphens, starting with a letter, with neither a
// trailing hyphen nor two hyphens in a row.
func validIdentifier(id string) bool {
	if len(id) < 1 || len(id) > 63 || !isLetter(id[0]) || strings.HasSuffix(id, "-") || strings.Contains(id, "--") {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isLetter(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func errBadIdentifier(param string) *apiError {
	return errInvalid("The parameter " + param + " is not a valid identifier. Identifiers must begin with a letter; " +
		"must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
}

// engineMajor is the part of a version that names a parameter group
// family: "16" of PostgreSQL 16.3, "8.0" of MySQL 8.0.35.
func engineMajor(engine, version string) string {
	major, rest, hasMinor := strings.Cut(version, ".")
	if n, err := strconv.Atoi(major); !hasMinor || strings.Contains(engine, "postgres") && err == nil && n >= 10 {
		return major
	}
	minor, _, _ := strings.Cut(rest, ".")
	return major + "." + minor
}

func defaultParameterGroup(engine, version string) string {
	return "default." + engine + engineMajor(engine, version)
}

func defaultOptionGroup(engine, version string) string {
	return "default:" + engine + "-" + strings.ReplaceAll(engineMajor(engine, version), ".", "-")
}

// isDefaultGroup reports a name of one of AWS's default groups, which
// exist for every engine without being created.
func isDefaultGroup(name string) bool {
	return strings.HasPrefix(name, "default.") || strings.HasPrefix(name, "default:")
}

func (s *Sim) arn(kind, name string) string {
	return "arn:aws:rds:" + s.region + ":" + s.account + ":" + kind + ":" + name
}

// parseARN splits an RDS ARN of this account and region into its resource
// type (db, snapshot, auto-backup…) and name.
func (s *Sim) parseARN(arn string) (kind, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:rds:"+s.region+":"+s.account+":")
	if !found {
		return "", "", false
	}
	kind, name, found = strings.Cut(rest, ":")
	return kind, name, found && name != ""
}

func (s *Sim) endpointAddress(id string) string {
	return id + "." + endpointInfix + "." + s.region + ".rds.amazonaws.com"
}

func (s *Sim) hostedZone() string {
	return or(hostedZones[s.region], "Z"+strings.ToUpper(endpointInfix))
}

func (s *Sim) defaultKMSKey() string {
	return "arn:aws:kms:" + s.region + ":" + s.account + ":key/aws-rds-default"
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	hexDigits  = "0123456789abcdef"
)

func (s *Sim) randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// newResourceID is a DbiResourceId as AWS makes them.
func (s *Sim) newResourceID() string { return "db-" + s.randomString(26, upperAlnum) }

func (s *Sim) newBackupARN() string {
	return s.arn("auto-backup", "ab-"+s.randomString(26, lowerAlnum))
}

func (s *Sim) newRequestID() string {
	r := s.randomString(32, hexDigits)
	return r[:8] + "-" + r[8:12] + "-4" + r[13:16] + "-" + r[16:20] + "-" + r[20:]
}
