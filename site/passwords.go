package site

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
)

// loadPasswordFile reads a password file in Lwan's form: one "user =
// password" per line, '#' comments and blank lines ignored. A password may
// be quoted ("..." or '...') to keep spaces or '#'. A password that looks
// like a bcrypt hash ("$2a$", "$2b$", "$2y$") is checked as one.
func loadPasswordFile(path string) (map[string]credential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	users := map[string]credential{}
	for i, line := range strings.Split(string(data), "\n") {
		user, password, err := passwordLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		if user == "" {
			continue
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is listed twice", path, i+1, user)
		}
		if isBcryptHash(password) {
			users[user] = credential{bcrypt: []byte(password)}
		} else {
			users[user] = credential{cleartext: sha256.Sum256([]byte(password))}
		}
	}
	return users, nil
}

// passwordLine parses one line; user is empty for a blank or comment line.
func passwordLine(line string) (user, password string, err error) {
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	if line == "" || line[0] == '#' {
		return "", "", nil
	}
	user, password, ok := strings.Cut(line, "=")
	user = strings.TrimSpace(user)
	password = strings.TrimSpace(password)
	switch {
	case !ok:
		return "", "", fmt.Errorf("want user = password")
	case user == "" || strings.ContainsAny(user, ": \t\"'#"):
		return "", "", fmt.Errorf("bad user name %q (no spaces, quotes, '#' or ':')", user)
	}
	if q := password[0:min(1, len(password))]; q == `"` || q == "'" {
		end := strings.IndexByte(password[1:], q[0])
		if end < 0 {
			return "", "", fmt.Errorf("unterminated quote")
		}
		rest := strings.TrimSpace(password[end+2:])
		if rest != "" && rest[0] != '#' {
			return "", "", fmt.Errorf("text after the quoted password")
		}
		password = password[1 : end+1]
	} else {
		if cut := strings.IndexByte(password, '#'); cut >= 0 {
			password = strings.TrimSpace(password[:cut])
		}
		password = strings.Join(strings.Fields(password), " ")
	}
	if password == "" {
		return "", "", fmt.Errorf("empty password for %q", user)
	}
	return user, password, nil
}

func isBcryptHash(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}
