package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// scramIterations is the PBKDF2 iteration count of the written accounts:
// the least Prosody accepts, so logins cost the server as little as it
// allows on either path.
const scramIterations = 4096

func users(args []string) error {
	fs := flag.NewFlagSet("users", flag.ExitOnError)
	dir := fs.String("testbed", "", "directory of a testbed Prosody (scripts/testbed.sh start DIR)")
	n := fs.Int("n", 1000, "accounts to write")
	prefix := fs.String("prefix", "load", "user names are PREFIX0…PREFIX{n-1}")
	password := fs.String("password", "secret", "password of every account")
	domain := fs.String("domain", "localhost", "the Prosody host the accounts belong to")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("users: -testbed is required")
	}
	if *n < 1 || *n > 100000 {
		return errors.New("users: -n must be 1…100000")
	}
	accounts := filepath.Join(*dir, "data", prosodyEncode(*domain), "accounts")
	if err := os.MkdirAll(accounts, 0o750); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	// Every account has the same password, so one salt and one PBKDF2 serve
	// them all; Prosody does not mind shared salts.
	rec := prosodyAccount(*password, "xmppbridge-bench-load", scramIterations)
	for i := range *n {
		name := filepath.Join(accounts, prosodyEncode(*prefix+strconv.Itoa(i))+".dat")
		if err := os.WriteFile(name, rec, 0o640); err != nil {
			return fmt.Errorf("users: %w", err)
		}
	}
	return nil
}

// prosodyAccount is an account file of Prosody's internal_hashed
// authentication in its internal storage (a Lua table), with SCRAM-SHA-1
// keys as RFC 5802 defines them.
func prosodyAccount(password, salt string, iter int) []byte {
	salted, err := pbkdf2.Key(sha1.New, password, []byte(salt), iter, sha1.Size)
	if err != nil {
		panic(err) // only for a bad key length, which is fixed here
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha1.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha1.Sum(clientKey)
	serverKey := mac(salted, "Server Key")
	return fmt.Appendf(nil, "return {\n\t[\"salt\"] = %q;\n\t[\"stored_key\"] = %q;\n\t[\"iteration_count\"] = %d;\n\t[\"server_key\"] = %q;\n};\n",
		salt, hex.EncodeToString(storedKey[:]), iter, hex.EncodeToString(serverKey))
}

// prosodyEncode is how Prosody's datamanager escapes a node or host for use
// as a file name: every byte other than an ASCII letter or digit becomes
// %XX (lowercase hex), as Lua's %W pattern matches.
func prosodyEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// userFlags is who logs in, and from where: the flags load and soak share.
type userFlags struct {
	domain, prefix, password string
	sources, concurrency     int
}

func (u *userFlags) flags(fs *flag.FlagSet, concurrency int) {
	fs.StringVar(&u.domain, "domain", "localhost", "XMPP domain")
	fs.StringVar(&u.prefix, "prefix", "load", "user names are PREFIX0…PREFIX{n-1} (see the users subcommand)")
	fs.StringVar(&u.password, "password", "secret", "password of every user")
	fs.IntVar(&u.sources, "sources", 16, "local source addresses 127.0.0.2… to spread connections over")
	fs.IntVar(&u.concurrency, "concurrency", concurrency, "logins under way at once")
}
