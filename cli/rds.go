package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pgrescue/problem"
	"pgrescue/restore/rds"
	"pgrescue/shellcmd"
)

// rdsFlags are what every RDS command shares: where and as whom.
type rdsFlags struct {
	region, profile string
	limit           time.Duration
}

func (r *rdsFlags) add(f *pflag.FlagSet) {
	f.StringVar(&r.region, "region", "", "the instance's AWS region (default: --aws-region, AWS_REGION, or the profile's)")
	f.StringVar(&r.profile, "profile", "", "the AWS profile (default: AWS_PROFILE, else the default chain)")
}

func (r *rdsFlags) addWait(f *pflag.FlagSet) {
	f.DurationVar(&r.limit, "wait-limit", 2*time.Hour, "stop waiting after this long (the restore goes on in AWS)")
}

func (r *rdsFlags) connect(ctx context.Context, cl *commandLine) (*rds.Client, error) {
	region := r.region
	if region == "" {
		region = cl.flags.Region
	}
	return rds.Connect(ctx, rds.Options{Region: region, Profile: r.profile, Wait: rds.WaitOptions{Limit: r.limit}})
}

func (cl *commandLine) rdsStatusCommand() *cobra.Command {
	var (
		flags    rdsFlags
		instance string
		app      string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "rds-status (--instance ID | --app APP) [--json]",
		Short: "Show what an RDS instance can be restored to: its window, snapshots and retained backups",
		Long: "Show the instance (engine, class, status, endpoint, Multi-AZ, storage, encryption, deletion\n" +
			"protection), its point-in-time window (earliest from its automated backup's restore window, latest\n" +
			"from LatestRestorableTime), its snapshots newest first, and the automated backups AWS kept of a\n" +
			"deleted instance of that name (restorable by ARN). --app finds an application's instances by their\n" +
			"tags, as the runbook's page does.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (instance == "") == (app == "") {
				return problem.New(problem.Usage, "--instance, --app", "give --instance or --app", "")
			}
			c, err := flags.connect(cmd.Context(), cl)
			if err != nil {
				return err
			}
			if app != "" {
				return cl.listAppInstances(cmd, c, app, asJSON)
			}
			st, err := c.Status(cmd.Context(), instance, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			writeRDSStatus(cmd.OutOrStdout(), st, time.Local)
			return nil
		},
	}
	f := cmd.Flags()
	flags.add(f)
	f.StringVar(&instance, "instance", "", "the DB instance identifier")
	f.StringVar(&app, "app", "", "an application name: list the instances tagged with it")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (cl *commandLine) listAppInstances(cmd *cobra.Command, c *rds.Client, app string, asJSON bool) error {
	found, err := c.FindByApp(cmd.Context(), app)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), found)
	}
	if len(found) == 0 {
		return &problem.Error{Kind: problem.RDSNotFound, Subject: "--app " + app,
			Summary: "no RDS instance in " + c.Region() + " is tagged with " + app + " or named after it",
			Next:    "check the region, or list them all: aws rds describe-db-instances --query 'DBInstances[].DBInstanceIdentifier'"}
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INSTANCE\tENGINE\tCLASS\tSTATUS\tENDPOINT")
	for _, in := range found {
		fmt.Fprintf(w, "%s\t%s %s\t%s\t%s\t%s\n", in.ID, in.Engine, in.EngineVersion, in.Class, in.Status, in.Endpoint)
	}
	return w.Flush()
}

// writeRDSStatus prints an instance's restore points for a person.
func writeRDSStatus(out io.Writer, st *rds.Status, zone *time.Location) {
	if in := st.Instance; in != nil {
		fmt.Fprintf(out, "instance %s (%s): %s %s, %s, %s\n", in.ID, st.Region, in.Engine, in.EngineVersion, in.Class, in.Status)
		fmt.Fprintf(out, "  endpoint %s:%d, Multi-AZ %s, %d GiB %s, encrypted %s, deletion protection %s\n",
			in.Endpoint, in.Port, yesNo(in.MultiAZ), in.AllocatedGiB, in.StorageType, yesNo(in.Encrypted), yesNo(in.DeletionProtection))
	} else {
		fmt.Fprintf(out, "instance %s (%s): does not exist any more\n", st.ID, st.Region)
	}
	if w := st.Window; w != nil {
		estimated := ""
		if w.EarliestEstimated {
			estimated = " (estimated from the retention period: AWS gave no restore window)"
		}
		fmt.Fprintf(out, "point in time: from %s%s\n               to   %s\n", rds.Both(w.Earliest, zone), estimated, rds.Both(w.Latest, zone))
		fmt.Fprintf(out, "  backups kept %d days, taken daily in %s UTC\n", w.RetentionDays, w.BackupWindow)
	}
	fmt.Fprintf(out, "snapshots (%d):\n", len(st.Snapshots))
	for _, s := range st.Snapshots {
		progress := ""
		if s.Status != "available" {
			progress = fmt.Sprintf(" %d%%", s.Progress)
		}
		fmt.Fprintf(out, "  %-9s %s  %s%s  %s\n", s.Type, rds.Both(s.Created, zone), s.Status, progress, s.ID)
	}
	for _, r := range st.Retained {
		fmt.Fprintf(out, "retained automated backup of the deleted instance: %s to %s\n  %s\n",
			rds.Both(r.Window.Earliest, zone), rds.Both(r.Window.Latest, zone), r.ARN)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// rdsRestore holds restore rds's flags.
type rdsRestore struct {
	flags      rdsFlags
	req        rds.Request
	targetText string
	yes        bool
	dryRun     bool
	noWait     bool
}

func (cl *commandLine) restoreRDSCommand() *cobra.Command {
	r := &rdsRestore{}
	cmd := &cobra.Command{
		Use:   "rds --instance ID (--target-time T | --latest | --snapshot ID|ARN) [--target-instance NAME] --yes",
		Short: "Restore an RDS instance into a new instance, with the source's settings, and wait for it",
		Long: "Check the request, the source, its window or snapshot and that the new name is free, print the\n" +
			"plan (every copied setting next to the source's value, and the equivalent aws commands), then ask\n" +
			"AWS for the new instance and wait until it is available, showing its status and AWS's events.\n" +
			"The new instance copies what AWS would otherwise silently default: subnet group, security groups,\n" +
			"parameter and option groups, class, storage, Multi-AZ, port, tags and more. ctrl+c stops the wait,\n" +
			"never the restore. The original instance is not touched: pgrescue rds cut-over is a separate step.\n" +
			"--target-time takes RFC 3339 or \"YYYY-MM-DD HH:MM:SS[+TZ]\"; without a zone it is local time.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.run(cmd, cl)
		},
	}
	f := cmd.Flags()
	r.flags.add(f)
	r.flags.addWait(f)
	f.StringVar(&r.req.Source, "instance", "", "the instance to restore")
	f.StringVar(&r.targetText, "target-time", "", "restore to this point in time (inside the window rds-status shows)")
	f.BoolVar(&r.req.Latest, "latest", false, "restore to the latest restorable time (a few minutes ago)")
	f.StringVar(&r.req.Snapshot, "snapshot", "", "restore this snapshot (identifier or ARN)")
	f.StringVar(&r.req.Target, "target-instance", "", "the new instance's identifier (default <id>-restored-<yyyymmddhhmm>)")
	f.BoolVar(&r.yes, "yes", false, "carry out the plan (without it, the plan is printed and nothing runs)")
	f.BoolVar(&r.dryRun, "dry-run", false, "print the checks and the plan (with the aws commands) and change nothing")
	f.BoolVar(&r.noWait, "no-wait", false, "return as soon as AWS has accepted the restore")
	return cmd
}

func (r *rdsRestore) run(cmd *cobra.Command, cl *commandLine) error {
	ctx, out, log := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	target, err := parseTarget(cmd, r.targetText)
	if err != nil {
		return err
	}
	r.req.TargetTime, r.req.Now, r.req.Zone = target.Time, time.Now(), time.Local
	c, err := r.flags.connect(ctx, cl)
	if err != nil {
		return err
	}
	fmt.Fprintln(log, "checking the source, its window or snapshot, and the new name before anything changes")
	plan, err := c.Prepare(ctx, r.req)
	if err != nil {
		return err
	}
	writeRDSPlan(out, plan)
	cl.journal.Event("plan", shellcmd.Script(plan.Commands()))
	if r.dryRun {
		return nil
	}
	if !r.yes {
		return problem.New(problem.Usage, "--yes", "nothing was run: the plan above needs your go-ahead", "review it, then run the same command with --yes")
	}
	usual := c.UsualDuration(ctx, plan.Class())
	started := time.Now()
	in, err := plan.Start(ctx)
	if err != nil {
		return err
	}
	cl.journal.Event("rds-restore", "asked AWS for "+in.ID+" ("+in.Status+")")
	fmt.Fprintf(out, "AWS accepted the restore: %s is %s\n", in.ID, in.Status)
	if r.noWait {
		fmt.Fprintln(out, "next: "+rds.CheckLater(plan.Target))
		return nil
	}
	o := c.WaitOptions()
	o.Started, o.Usual = started, usual
	fmt.Fprintf(log, "waiting until %s is available (%s; ctrl+c stops waiting, not the restore)\n", plan.Target, usual)
	in, err = plan.Finish(ctx, o, rdsProgress(log))
	if err != nil {
		return err
	}
	cl.journal.Event("rds-available", in.ID+" at "+in.Endpoint)
	fmt.Fprintf(out, "available: %s at %s port %d (after %s)\n", in.ID, in.Endpoint, in.Port, rds.Minutes(time.Since(started)))
	fmt.Fprintln(out, "check it: "+rds.PsqlLine(in))
	fmt.Fprintf(out, "next, once checked: pgrescue rds cut-over --old %s --new %s\n", plan.SourceID, in.ID)
	return nil
}

// rdsProgress prints a wait's events: every change, and a still-waiting
// line a minute at most.
func rdsProgress(log io.Writer) func(rds.Event) {
	var last time.Time
	return func(e rds.Event) {
		if e.Kind == rds.StillWaiting && time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		fmt.Fprintln(log, e.String())
	}
}

// writeRDSPlan prints the plan: the restore, every setting, the commands.
func writeRDSPlan(w io.Writer, p *rds.Plan) {
	fmt.Fprintf(w, "# plan: restore %s into a new instance %s (%s)\n", describeRDSPoint(p), p.Target, p.Region)
	fmt.Fprintln(w, "# settings of the new instance (source → new):")
	for _, s := range p.Settings {
		note := ""
		if s.Later {
			note = "  (applied once the instance is available)"
		}
		if !s.Copied() && s.Source != "" {
			note += "  (differs)"
		}
		fmt.Fprintf(w, "#   %-28s %s → %s%s\n", s.Name, orNone(s.Source), orNone(s.New), note)
	}
	fmt.Fprint(w, shellcmd.Script(p.Commands()))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func describeRDSPoint(p *rds.Plan) string {
	switch {
	case p.Method == rds.FromSnapshot:
		return fmt.Sprintf("snapshot %s of %s (taken %s)", p.Snapshot.ID, p.SourceID, rds.Both(p.Snapshot.Created, p.Zone))
	case p.Latest:
		return p.SourceID + " as of its latest restorable time (" + rds.Both(p.Window.Latest, p.Zone) + ")"
	}
	return p.SourceID + " as of " + rds.Both(p.Time, p.Zone)
}

func (cl *commandLine) rdsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "rds", Short: "Steps after an RDS restore: the cut-over"}
	cmd.AddCommand(cl.rdsCutOverCommand())
	return cmd
}

func (cl *commandLine) rdsCutOverCommand() *cobra.Command {
	var (
		flags   rdsFlags
		req     rds.CutOverRequest
		confirm string
		yes     bool
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "cut-over --old ID --new ID [--cname NAME --zone ZONE] --yes",
		Short: "Point the application at the restored instance: swap names, or UPSERT a Route53 CNAME",
		Long: "By default rename the old instance to <id>-before-<yyyymmddhhmm> and the restored one to the old name,\n" +
			"so the endpoint the application uses stays the same (AWS moves the DNS name within about 10\n" +
			"minutes). With --cname and --zone, UPSERT a CNAME to the restored endpoint instead, as the 2019\n" +
			"runbook page did. The old instance's name must be typed (or given with --confirm). Nothing is\n" +
			"deleted or stopped: the old instance is kept.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out, log := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			req.Now = time.Now()
			c, err := flags.connect(ctx, cl)
			if err != nil {
				return err
			}
			co, err := c.PrepareCutOver(ctx, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "# cut-over: the application's database %s → the restored %s (%s)\n", co.Old.ID, co.New.ID, co.New.Endpoint)
			fmt.Fprint(out, shellcmd.Script(co.Commands()))
			cl.journal.Event("plan", shellcmd.Script(co.Commands()))
			if dryRun {
				return nil
			}
			if !yes {
				return problem.New(problem.Usage, "--yes", "nothing was run: the cut-over above needs your go-ahead", "review it, then run the same command with --yes")
			}
			ask := typedName{name: co.Old.ID, given: confirm, action: "the cut-over", what: "the old instance's name",
				prompt: "The application's instance " + co.Old.ID + " will be renamed (kept, never deleted)."}
			if err := ask.confirm(log); err != nil {
				return err
			}
			if err := co.Run(ctx, c.WaitOptions(), rdsProgress(log)); err != nil {
				return err
			}
			cl.journal.Event("rds-cut-over", co.Old.ID+" → "+co.New.ID)
			for _, line := range co.Closing() {
				fmt.Fprintln(out, line)
			}
			return nil
		},
	}
	f := cmd.Flags()
	flags.add(f)
	flags.addWait(f)
	f.StringVar(&req.Old, "old", "", "the instance the application uses now (kept, renamed)")
	f.StringVar(&req.New, "new", "", "the restored instance")
	f.StringVar(&req.CNAME, "cname", "", "instead of renaming: the CNAME record to point at the restored endpoint")
	f.StringVar(&req.Zone, "zone", "", "with --cname: the Route53 hosted zone (its domain)")
	f.StringVar(&confirm, "confirm", "", "without a terminal: the old instance's name, typed again")
	f.BoolVar(&yes, "yes", false, "carry out the cut-over")
	f.BoolVar(&dryRun, "dry-run", false, "print the cut-over's commands and change nothing")
	return cmd
}
