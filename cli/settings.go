package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (cl *commandLine) settingsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "settings",
		Aliases: []string{"config"}, // its name before pgrescue's config file took the word
		Short:   "Show the WAL-E settings in effect, where each value comes from, secrets masked",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := cl.session().Settings()
			if err != nil {
				return err
			}
			report := s.Report()
			out := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					Name   string `json:"name"`
					Value  string `json:"value"`
					Source string `json:"source"`
				}
				rows := []row{}
				for _, v := range report {
					rows = append(rows, row{v.Name, v.Value, v.Source})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"envdir": s.Envdir, "envdir_reason": s.EnvdirReason, "settings": rows, "credentials": credentialNote(s.Get("AWS_ACCESS_KEY_ID"))})
			}
			envdir := s.Envdir
			if envdir == "" {
				envdir = "-"
			}
			fmt.Fprintf(out, "envdir: %s (%s)\n\n", envdir, s.EnvdirReason)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
			for _, v := range report {
				value := v.Value
				if value == "" {
					value = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, value, v.Source)
			}
			tw.Flush()
			fmt.Fprintf(out, "\ncredentials: %s\n", credentialNote(s.Get("AWS_ACCESS_KEY_ID")))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func credentialNote(keyID string) string {
	if keyID != "" {
		return "static access key from the settings above"
	}
	return "none set: the AWS SDK default chain (AWS_PROFILE and ~/.aws, SSO, EC2/ECS instance role)"
}
