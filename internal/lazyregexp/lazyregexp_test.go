package lazyregexp

import "testing"

func TestCompilesOnFirstUseOnly(t *testing.T) {
	re := New(`^a+$`)
	first := re()
	if !first.MatchString("aaa") || first.MatchString("ab") {
		t.Fatalf("%v does not match as ^a+$ does", first)
	}
	if re() != first {
		t.Error("a second call compiled the expression again")
	}
}

func TestInvalidExpressionPanicsOnUseNotBefore(t *testing.T) {
	re := New(`(`) // no panic here
	defer func() {
		if recover() == nil {
			t.Error("an invalid expression compiled without a panic")
		}
	}()
	re()
}
