"""Message templates (SMS and voice reminders): templates, their versions with a second officer's approval, and the
forbidden phrases the content rules match, seeded with a default list per jurisdiction (generated legal wording, no
personal data), each phrase with its source. Compliance officers get the rights to edit and approve them;
collectors and supervisors get none."""

from django.conf import settings
from django.db import migrations, models
import django.core.validators
import django.db.models.deletion
import fernet_fields.fields
import simple_history.models

_CBA = "China Banking Association, 金融机构个人消费类贷款催收工作指引（试行） (2026; unverified)"
_NFRA = "NFRA 消费金融公司管理办法 (2024)"

# (jurisdiction, phrase, rule code, source). Mirrors collections_app.messaging.lint.PHRASE_RULES as written; the
# list is data, edited by compliance officers in admin from here on.
DEFAULT_PHRASES = [
    # CN: threats, intimidation, violence.
    *[("CN", p, "CN_THREAT", f"{_CBA}: no threats or intimidation; {_NFRA}") for p in (
        "后果自负", "后果很严重", "走着瞧", "上门找你", "上门催收", "坐牢", "拘留", "抓你", "曝光你", "让你好看",
        "全网曝光", "刑事责任", "律师函")],
    # CN: insults.
    *[("CN", p, "CN_INSULT", f"{_CBA}: no insults") for p in (
        "老赖", "骗子", "不要脸", "无耻", "垃圾", "人渣")],
    # CN: impersonating courts, police and procuratorates.
    *[("CN", p, "CN_IMPERSONATION", f"{_CBA}: no impersonation of administrative or judicial authorities")
      for p in ("法院", "公安", "警察", "警方", "检察院", "公检法", "传票", "逮捕", "立案通知")],
    # CN: relatives, the phone book, the workplace.
    *[("CN", p, "CN_CONTACTS_MENTIONED",
       f"{_CBA}: third parties only when authorized, never collected from; no phone-book contacts; {_NFRA}")
      for p in ("通讯录", "联系人", "亲友", "家人", "亲属", "父母", "同事", "单位领导", "紧急联系人")],
    # CN: extra fees.
    *[("CN", p, "CN_EXTRA_FEES", f"{_CBA}: no extra fees") for p in (
        "手续费", "催收费", "额外费用", "上门费")],
    # US: a voicemail (limited-content message) and a third-party message say nothing about a debt.
    *[("US", p, "US_DEBT_MENTIONED", "12 CFR 1006.2(j) limited-content message; 12 CFR 1006.10 (third parties)")
      for p in ("debt", "debt collector", "collection", "collect", "owe", "owed", "overdue", "past due",
                "balance", "payment due", "delinquent", "arrears")],
    # UK: pressure to pay.
    *[("UK", p, "UK_PRESSURE", "FCA CONC 7.3.10 R: no pressure to pay in an unreasonably short time or to borrow")
      for p in ("pay today or", "pay immediately", "within 24 hours", "final warning", "last chance", "act now",
                "bailiffs", "borrow to pay", "take out a loan")],
]

MESSAGING_MODELS = ["messagetemplate", "messagetemplateversion", "forbiddenphrase"]
GRANTS = {
    "Compliance officer": [f"{kind}_{m}" for m in MESSAGING_MODELS for kind in ("view", "add", "change")]
    + ["approve_messagetemplateversion"],
}


def install(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    ForbiddenPhrase = apps.get_model("collections_app", "ForbiddenPhrase")
    for jurisdiction, phrase, rule_code, note in DEFAULT_PHRASES:
        ForbiddenPhrase.objects.get_or_create(jurisdiction=jurisdiction, phrase=phrase,
                                              defaults={"rule_code": rule_code, "note": note})
    # On a fresh database permissions are created only after all migrations (post_migrate): create them now.
    create_permissions(global_apps.get_app_config("collections_app"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
            )


def uninstall(apps, schema_editor):
    ForbiddenPhrase = apps.get_model("collections_app", "ForbiddenPhrase")
    for jurisdiction, phrase, _rule, _note in DEFAULT_PHRASES:
        ForbiddenPhrase.objects.filter(jurisdiction=jurisdiction, phrase=phrase).delete()
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
            )


class Migration(migrations.Migration):

    dependencies = [
        ('collections_app', '0017_policy_generation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MessageTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=48, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9_-]{0,47}$', 'Use lower-case letters, digits, _ and - only.')], verbose_name='code')),
                ('channel', models.CharField(choices=[('sms', 'SMS'), ('voice', 'Voice message')], max_length=8, verbose_name='channel')),
                ('jurisdiction', models.CharField(choices=[('CN', 'China'), ('US', 'United States'), ('UK', 'United Kingdom')], max_length=2, verbose_name='jurisdiction')),
                ('language', models.CharField(choices=[('zh-hans', 'Simplified Chinese'), ('en', 'English')], max_length=8, verbose_name='language')),
                ('third_party_safe', models.BooleanField(default=False, help_text="Only such templates may go to a third party's number: they never mention the debt.", verbose_name='third-party safe')),
                ('valid_for_hours', models.PositiveIntegerField(default=24, help_text='How long a queued message may wait for an allowed time before it is blocked as expired.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)], verbose_name='valid for (hours)')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'message template',
                'verbose_name_plural': 'message templates',
                'ordering': ['code'],
            },
        ),
        migrations.CreateModel(
            name='ForbiddenPhrase',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('jurisdiction', models.CharField(blank=True, choices=[('CN', 'China'), ('US', 'United States'), ('UK', 'United Kingdom')], help_text='Empty: every jurisdiction.', max_length=2, verbose_name='jurisdiction')),
                ('phrase', models.CharField(max_length=200, verbose_name='phrase')),
                ('rule_code', models.CharField(max_length=40, verbose_name='content rule')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='source and note')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'forbidden phrase',
                'verbose_name_plural': 'forbidden phrases',
                'ordering': ['jurisdiction', 'rule_code', 'phrase'],
                'constraints': [models.UniqueConstraint(fields=('jurisdiction', 'phrase'), name='forbidden_phrase_unique')],
            },
        ),
        migrations.CreateModel(
            name='HistoricalForbiddenPhrase',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('jurisdiction', models.CharField(blank=True, choices=[('CN', 'China'), ('US', 'United States'), ('UK', 'United Kingdom')], help_text='Empty: every jurisdiction.', max_length=2, verbose_name='jurisdiction')),
                ('phrase', models.CharField(max_length=200, verbose_name='phrase')),
                ('rule_code', models.CharField(max_length=40, verbose_name='content rule')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='source and note')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical forbidden phrase',
                'verbose_name_plural': 'historical forbidden phrases',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalMessageTemplate',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.CharField(db_index=True, max_length=48, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9_-]{0,47}$', 'Use lower-case letters, digits, _ and - only.')], verbose_name='code')),
                ('channel', models.CharField(choices=[('sms', 'SMS'), ('voice', 'Voice message')], max_length=8, verbose_name='channel')),
                ('jurisdiction', models.CharField(choices=[('CN', 'China'), ('US', 'United States'), ('UK', 'United Kingdom')], max_length=2, verbose_name='jurisdiction')),
                ('language', models.CharField(choices=[('zh-hans', 'Simplified Chinese'), ('en', 'English')], max_length=8, verbose_name='language')),
                ('third_party_safe', models.BooleanField(default=False, help_text="Only such templates may go to a third party's number: they never mention the debt.", verbose_name='third-party safe')),
                ('valid_for_hours', models.PositiveIntegerField(default=24, help_text='How long a queued message may wait for an allowed time before it is blocked as expired.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)], verbose_name='valid for (hours)')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical message template',
                'verbose_name_plural': 'historical message templates',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalMessageTemplateVersion',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('number', models.PositiveIntegerField(verbose_name='version')),
                ('body', models.TextField(help_text='Variables in braces, from the list below, e.g. {institution}.', max_length=1000, verbose_name='text')),
                ('state', models.CharField(choices=[('draft', 'Draft'), ('pending_approval', 'Pending approval'), ('approved', 'Approved (published)'), ('rejected', 'Rejected')], default='draft', max_length=20, verbose_name='state')),
                ('lint_codes', models.JSONField(blank=True, default=list, help_text='The content rules the text broke when it was last checked; empty when it passed.', verbose_name='content rule findings')),
                ('decision_comment', fernet_fields.fields.EncryptedTextField(blank=True, verbose_name='decision comment')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('submitted_at', models.DateTimeField(blank=True, null=True, verbose_name='submitted at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('approver', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('author', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='author')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('template', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='collections_app.messagetemplate', verbose_name='template')),
            ],
            options={
                'verbose_name': 'historical message template version',
                'verbose_name_plural': 'historical message template versions',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='MessageTemplateVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(verbose_name='version')),
                ('body', models.TextField(help_text='Variables in braces, from the list below, e.g. {institution}.', max_length=1000, verbose_name='text')),
                ('state', models.CharField(choices=[('draft', 'Draft'), ('pending_approval', 'Pending approval'), ('approved', 'Approved (published)'), ('rejected', 'Rejected')], default='draft', max_length=20, verbose_name='state')),
                ('lint_codes', models.JSONField(blank=True, default=list, help_text='The content rules the text broke when it was last checked; empty when it passed.', verbose_name='content rule findings')),
                ('decision_comment', fernet_fields.fields.EncryptedTextField(blank=True, verbose_name='decision comment')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('submitted_at', models.DateTimeField(blank=True, null=True, verbose_name='submitted at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('approver', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='author')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='collections_app.messagetemplate', verbose_name='template')),
            ],
            options={
                'verbose_name': 'message template version',
                'verbose_name_plural': 'message template versions',
                'ordering': ['template', '-number'],
                'permissions': [('approve_messagetemplateversion', 'Can approve or reject message template versions')],
                'constraints': [models.UniqueConstraint(fields=('template', 'number'), name='message_template_version_unique'), models.CheckConstraint(condition=models.Q(models.Q(('state__in', ['approved', 'rejected']), _negated=True), ('approver__isnull', False), _connector='OR'), name='message_template_version_decided_by'), models.CheckConstraint(condition=models.Q(('approver__isnull', True), models.Q(('approver', models.F('author')), _negated=True), _connector='OR'), name='message_template_version_second_officer')],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
