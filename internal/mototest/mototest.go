// Package mototest starts moto_server (pip's moto), a real implementation
// of the AWS APIs in Python, on 127.0.0.1 for a test, and makes the network
// an RDS instance needs (a VPC, a subnet, a security group) through moto's
// EC2 API. The engine under test talks to it with the real SDK, pointed at
// it by AWS_ENDPOINT_URL_RDS or an endpoint option.
package mototest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
)

// Server is one moto_server process.
type Server struct {
	URL string
}

// Start runs moto_server on a free port until the test ends. A machine
// without it skips the test (fails it in CI), with how to install it.
func Start(t testing.TB) *Server {
	t.Helper()
	testtool.EndToEnd(t)
	path, err := exec.LookPath("moto_server")
	if err != nil {
		testtool.Missing(t, "moto_server", "install it with: pip install 'moto[server]'")
		return nil
	}
	port := testtool.FreePort(t)
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	log, err := os.Create(t.TempDir() + "/moto.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("moto_server did not answer on %s within 30 s: %v\n%s", s.URL, err, data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Network is what an RDS subnet group and security groups refer to.
type Network struct {
	VPC, Subnet1, Subnet2, SecurityGroup string
}

// MakeNetwork creates a VPC with two subnets and a security group in moto's
// EC2. moto checks no signature, so plain Query calls do.
func (s *Server) MakeNetwork(t testing.TB, region string) Network {
	t.Helper()
	var n Network
	n.VPC = s.ec2(t, region, `<vpcId>([^<]+)</vpcId>`, "Action", "CreateVpc", "CidrBlock", "10.0.0.0/16")
	n.Subnet1 = s.ec2(t, region, `<subnetId>([^<]+)</subnetId>`, "Action", "CreateSubnet", "VpcId", n.VPC, "CidrBlock", "10.0.1.0/24", "AvailabilityZone", region+"a")
	n.Subnet2 = s.ec2(t, region, `<subnetId>([^<]+)</subnetId>`, "Action", "CreateSubnet", "VpcId", n.VPC, "CidrBlock", "10.0.2.0/24", "AvailabilityZone", region+"b")
	n.SecurityGroup = s.ec2(t, region, `<groupId>([^<]+)</groupId>`, "Action", "CreateSecurityGroup", "VpcId", n.VPC, "GroupName", "app-db", "GroupDescription", "the database")
	return n
}

func (s *Server) ec2(t testing.TB, region, want string, kv ...string) string {
	t.Helper()
	form := url.Values{"Version": {"2016-11-15"}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto routes by the credential scope's service and region.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/"+region+"/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto EC2 %s: %v", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(want).FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("moto EC2 %s: HTTP %d\n%s", form.Get("Action"), resp.StatusCode, body)
	}
	return string(m[1])
}
