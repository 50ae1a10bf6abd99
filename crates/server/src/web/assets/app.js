// casedesk agent UI: a small single-page app over the v1 JSON API.
//
// Every piece of data is put into the page with textContent (through `h`),
// never as HTML: messages, subjects and names come from customers and are
// hostile by default. Live updates come from server-sent events.
"use strict";

// ------------------------------------------------------------------ strings

const STRINGS = {
  en: {
    brand: "casedesk",
    nav_active: "Active chats",
    nav_cases: "Cases",
    nav_settings: "Settings",
    nav_profile: "Profile",
    logout: "Log out",
    login_title: "Sign in to casedesk",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    language: "Language",
    status: "Status",
    status_open: "open",
    status_pending: "pending",
    status_closed: "closed",
    chat_state: "Chat state",
    state_active: "active",
    state_finished: "ended",
    state_none: "not a chat",
    any: "any",
    channel: "Channel",
    agent: "Agent",
    assignee: "Assignee",
    unassigned: "unassigned",
    customer: "Customer",
    search: "Search subject and messages",
    sort: "Sort by",
    sort_created: "created",
    sort_activity: "last activity",
    order_desc: "newest first",
    order_asc: "oldest first",
    apply: "Apply",
    reset: "Reset",
    load_more: "Load more",
    no_cases: "No cases match.",
    no_active: "No active chats.",
    pick_chat: "Choose a chat from the list to answer it.",
    number: "No.",
    subject: "Subject",
    created: "Created",
    last_activity: "Last activity",
    messages: "Messages",
    unread: "unread",
    edit: "Edit",
    save: "Save",
    cancel: "Cancel",
    reply_placeholder: "Reply to the customer…  (Ctrl+Enter sends)",
    note_placeholder: "Internal note, only agents see it…  (Ctrl+Enter adds)",
    send_reply: "Send reply",
    add_note: "Add note",
    attach_file: "Attach file",
    attach_reply_title: "Send a file to the customer; the text in the box, if any, goes with it as its caption. You can also drop files onto the box.",
    attach_note_title: "Add a file as an internal note; the text in the box, if any, is its caption. You can also drop files onto the box.",
    uploading: "Uploading… {p}%",
    upload_failed: "The file could not be sent: the connection broke off. Is it larger than the server accepts?",
    drop_file: "Drop to attach",
    open_image: "Open {name} in a new tab",
    download_file: "Download {name}",
    size_b: "{n} B",
    size_kb: "{n} KB",
    size_mb: "{n} MB",
    internal_note: "Internal note",
    system: "system",
    you: "you",
    end_chat: "End chat",
    end_chat_title: "End chat #{n} with status",
    end_chat_hint: "The chat leaves the active list; its status is yours to choose.",
    auto_finish_warning: "No activity: this chat ends automatically in {t}.",
    keep_active: "Keep active",
    split: "Split new messages into a separate chat",
    show_previous: "Show previous chat",
    hide_previous: "Hide previous chat",
    merge: "Merge current chat with previous",
    merge_confirm: "Move every message of chat #{a} into the previous chat #{b}? Chat #{a} is then merged and no longer listed.",
    merge_do: "Merge",
    go_previous: "Go to previous chat",
    go_next: "Go to next chat",
    previous_chat: "Previous chat #{n}",
    current_chat: "Current chat #{n}",
    reaction: "show the message",
    customer_page: "Customer",
    customer_chats: "Chats of this customer",
    external_id: "Id in the channel",
    all_cases_of_customer: "All cases of this customer",
    customer_email: "E-mail",
    customer_email_add: "Add e-mail",
    customer_email_title: "The customer signs in to the Help Center with this address and sees all their requests there.",
    customer_email_placeholder: "name@example.com (empty: remove)",
    clear: "clear",
    settings_timers: "Auto-finish",
    after_seconds: "End an inactive chat after (seconds)",
    warning_seconds: "Warn this many seconds before (seconds)",
    saved: "Saved.",
    channels: "Channels",
    channel_name: "Name",
    webhook_url: "Webhook URL for agent replies (optional)",
    deliveries_failed: "Replies the webhook could not deliver",
    delivery_line: "{time} · attempts: {n}",
    redeliver: "Redeliver",
    redelivered: "Queued for delivery again.",
    create_channel: "Create channel",
    token_once: "Inbound token of {name} — shown only now, store it safely:",
    inbound_url: "Customer events are POSTed to",
    new_channel: "New channel",
    channel_kind: "Kind",
    kind_api: "Messenger (API)",
    kind_widget: "Web chat widget",
    allowed_sites: "Allowed sites",
    allowed_sites_hint: "One site per line, like https://shop.example (scheme, host and port, no path). Empty: any site.",
    any_site: "Any site. Set the list before going live, so that nobody can put this chat on their pages.",
    edit_sites: "Edit allowed sites",
    copy: "Copy",
    copied: "Copied.",
    copy_by_hand: "Selected: press Ctrl+C (⌘C) to copy.",
    snippet: "Code for the site",
    snippet_label: "The line to paste into the site",
    widget_created: "Web chat widget {name} is ready",
    snippet_paste: "Paste this line into every page of the site that should have the chat, anywhere in the page (usually just before </body>):",
    widget_secret: "Channel secret — shown only now, store it safely:",
    widget_secret_hint: "The site's backend signs the ids of logged-in users with it, so that each of them is one customer on every device (docs/widget.md, “Identified users”). Never put it into a page.",
    done: "Done",
    agents: "Agents",
    name: "Name",
    role: "Role",
    role_admin: "admin",
    role_agent: "agent",
    create_agent: "Add agent",
    agent_disabled: "disabled",
    agent_disable: "Disable",
    agent_enable: "Enable",
    agent_end_sessions: "Sign out everywhere",
    agent_unlock: "Unlock sign-in",
    agent_set_password: "Set password",
    agent_delete: "Delete",
    agent_disable_confirm: "Disable {name}? They are signed out at once and cannot sign in until enabled again.",
    agent_delete_confirm: "Delete {name}? They are signed out and can never sign in again; their name stays in case histories, and cases assigned to them stay assigned until you reassign them.",
    agent_sessions_ended: "{n} session(s) ended.",
    agent_unlocked: "Failed sign-ins forgotten: {name} can sign in now.",
    agent_password_hint: "The new password ends every session of {name}.",
    new_password: "New password",
    current_password: "Current password",
    change_password: "Change password",
    password_changed: "Password changed: sign in again with the new one.",
    admins_only: "Only admins can change these settings.",
    profile_title: "Your profile",
    live: "live",
    offline: "reconnecting…",
    just_now: "now",
    ago_min: "{n} min",
    ago_h: "{n} h",
    ago_d: "{n} d",
    loading: "Loading…",
    not_found: "Not found.",
    merged_into: "This chat was merged into another one.",
    shortcuts: "Shortcuts: Ctrl+Enter sends, Alt+Shift+E ends the chat.",
    case_title: "Case #{n}",
    finished_banner: "This chat has ended ({s}).",
    history: "History",
    nav_reports: "Reports",
    reports_title: "Reports",
    period_from: "From",
    period_to: "To",
    group_by: "Group by",
    group_day: "day",
    group_week: "week",
    group_agent: "agent",
    group_channel: "channel",
    all_channels: "all channels",
    summary: "Summary",
    created_n: "Created",
    finished_n: "Finished",
    auto_finished_n: "Auto-finished",
    closed_n: "Closed",
    reopened_n: "Reopened",
    split_n: "Split",
    merged_n: "Merged",
    active_now: "Active now",
    reopen_rate: "Reopen rate",
    split_rate: "Split rate",
    rate_hint: "{a} of {b} created",
    first_response: "First response",
    resolution: "Resolution",
    median: "median",
    p90: "p90",
    chart_created: "Cases created per {unit}, by channel",
    chart_times: "Response and resolution times",
    workload: "Agent workload",
    workload_own: "Your figures (agents see only their own)",
    breakdown: "By {unit}",
    group: "Group",
    total: "Total",
    no_data: "no data",
    export_csv: "Export CSV",
    export_xlsx: "Export XLSX",
    export_hint: "Exports every case matching the current filters, in the current order.",
    dur_s: "{n} s",
    dur_min: "{n} min",
    dur_h: "{h} h {m} min",
    dur_d: "{d} d {h} h",
    nav_templates: "Templates",
    labels: "Labels",
    label: "Label",
    any_label: "any",
    add_label_prompt: "Add label…",
    remove_label: "Remove label {name}",
    no_labels: "No labels yet.",
    unknown_label: "unknown label",
    label_color: "Colour",
    create_label: "Add label",
    clear_color: "no colour",
    help_center: "Help Center",
    help_center_hint: "Customers sign in with their e-mail and see their requests; set a customer's e-mail on the case page.",
    labels_hint: "Agents put labels on cases; the case list filters by them. Deleting a label takes it off every case.",
    delete_label_confirm: "Delete the label “{name}”? It is taken off every case.",
    templates: "Templates",
    templates_title: "Apply a template",
    templates_hint: "The reply goes to the customer and every action runs at once.",
    template_search: "Search templates by name or text",
    template_apply: "Apply",
    template_none: "No templates match.",
    template_no_text: "(no reply: actions only)",
    template_preview: "Reply to be sent",
    template_applied: "Template “{name}” applied.",
    shared: "shared",
    personal: "personal",
    shared_with_team: "Shared with the team",
    new_template: "New template",
    edit_template: "Edit template",
    template_name: "Name",
    template_body: "Reply text (optional)",
    placeholders_hint: "Placeholders, filled in when the template is applied:",
    placeholder_fallback: "a fallback for an empty value:",
    insert_placeholder: "Insert at the cursor",
    actions: "Actions",
    action_type: "Action",
    add_action: "Add action",
    remove_action: "Remove",
    no_actions: "No actions.",
    read_only: "read-only: admins change shared templates",
    delete: "Delete",
    delete_template_confirm: "Delete the template “{name}”?",
    deleted: "Deleted.",
    no_templates: "No templates yet.",
    templates_page_hint: "Shared templates are for the whole team (admins make them); personal ones only you see.",
    action_set_status: "Set status",
    action_finish_chat: "End chat",
    action_assign: "Assign",
    action_set_subject: "Set subject",
    action_add_note: "Add internal note",
    action_add_label: "Add label",
    action_remove_label: "Remove label",
    action_send_reply: "Send reply",
    nav_rules: "Automation",
    new_rule: "New rule",
    edit_rule: "Edit rule",
    rule_name: "Name",
    no_rules: "No rules yet.",
    rules_page_hint: "Rules run from top to bottom after each change to a case, as part of it; changes made by rules may set off other rules, at most two rounds more.",
    rules_read_only: "Read-only: admins change rules.",
    rule_enabled: "Enabled",
    rule_on: "enabled",
    rule_off: "disabled",
    move_up: "Move up",
    move_down: "Move down",
    delete_rule_confirm: "Delete the rule “{name}”? It stops at once.",
    trigger: "When",
    trigger_to: "To status",
    delay: "How long",
    delay_unit: "Unit",
    unit_name_seconds: "seconds",
    unit_name_minutes: "minutes",
    unit_name_hours: "hours",
    unit_name_days: "days",
    unit_seconds: "second|seconds",
    unit_minutes: "minute|minutes",
    unit_hours: "hour|hours",
    unit_days: "day|days",
    trigger_case_created: "a case is created",
    trigger_customer_message: "a customer message arrives",
    trigger_agent_replied: "an agent replies",
    trigger_chat_finished: "a chat ends",
    trigger_status_changed: "the status changes",
    trigger_pending_for: "a case has been pending for…",
    trigger_open_without_reply: "a case has been open without a reply for…",
    when_case_created: "When a case is created",
    when_customer_message: "When a customer message arrives",
    when_agent_replied: "When an agent replies",
    when_chat_finished: "When a chat ends",
    when_status_changed: "When the status changes",
    when_status_changed_to: "When the status changes to {v}",
    when_pending_for: "When a case has been pending for {v}",
    when_open_without_reply: "When a case has been open without a reply for {v}",
    when_unknown: "When {v}",
    conditions: "Conditions (all must hold)",
    no_conditions: "No conditions: the rule acts on every case its trigger concerns.",
    add_condition: "Add condition",
    condition_type: "Condition",
    message_triggers_only: "only with the customer message and agent reply triggers",
    cond_channel_is: "channel is one of",
    cond_status_is: "status is one of",
    cond_chat_state_is: "chat state is",
    cond_has_label: "has label",
    cond_lacks_label: "lacks label",
    cond_subject_contains: "subject contains",
    cond_message_contains: "message contains",
    cond_customer_name_contains: "customer name contains",
    cond_customer_id_is: "customer id in the channel is",
    cond_in_business_hours: "in business hours",
    cond_outside_business_hours: "outside business hours",
    if_channel_is: "channel is {v}",
    if_status_is: "status is {v}",
    if_chat_state_is: "chat state is {v}",
    if_has_label: "has label {v}",
    if_lacks_label: "does not have label {v}",
    if_subject_contains: "subject contains {v}",
    if_message_contains: "message contains {v}",
    if_customer_name_contains: "customer name contains {v}",
    if_customer_id_is: "customer id is {v}",
    if_in_business_hours: "in business hours",
    if_outside_business_hours: "outside business hours",
    word_if: ", if ",
    word_and: "and",
    word_or: "or",
    quoted: "“{v}”",
    unknown_channel: "unknown channel",
    do_set_status: "set status {v}",
    do_finish_chat: "end the chat as {v}",
    do_assign: "assign to {v}",
    do_unassign: "unassign",
    do_set_subject: "set subject {v}",
    do_add_note: "add internal note {v}",
    do_send_reply: "send reply {v}",
    do_add_label: "add label {v}",
    do_remove_label: "remove label {v}",
    rule_placeholders_hint: "Reply, subject and note texts may use placeholders:",
    dry_run: "Dry run",
    dry_run_hint: "A dry run shows the cases the rule would touch now; it changes nothing.",
    dry_run_matches: "{n} of the {scanned} most recently active cases match now:",
    dry_run_none: "No case matches now ({scanned} most recently active cases checked).",
  },
  ru: {
    brand: "casedesk",
    nav_active: "Активные чаты",
    nav_cases: "Обращения",
    nav_settings: "Настройки",
    nav_profile: "Профиль",
    logout: "Выйти",
    login_title: "Вход в casedesk",
    email: "Эл. почта",
    password: "Пароль",
    sign_in: "Войти",
    language: "Язык",
    status: "Статус",
    status_open: "открытое",
    status_pending: "в ожидании",
    status_closed: "закрытое",
    chat_state: "Состояние чата",
    state_active: "активный",
    state_finished: "завершённый",
    state_none: "не чат",
    any: "любое",
    channel: "Канал",
    agent: "Агент",
    assignee: "Ответственный",
    unassigned: "не назначен",
    customer: "Клиент",
    search: "Поиск по теме и сообщениям",
    sort: "Сортировка",
    sort_created: "по созданию",
    sort_activity: "по последней активности",
    order_desc: "сначала новые",
    order_asc: "сначала старые",
    apply: "Применить",
    reset: "Сбросить",
    load_more: "Показать ещё",
    no_cases: "Обращений не найдено.",
    no_active: "Активных чатов нет.",
    pick_chat: "Выберите чат в списке, чтобы ответить.",
    number: "№",
    subject: "Тема",
    created: "Создано",
    last_activity: "Последняя активность",
    messages: "Сообщений",
    unread: "непрочитано",
    edit: "Изменить",
    save: "Сохранить",
    cancel: "Отмена",
    reply_placeholder: "Ответ клиенту…  (Ctrl+Enter — отправить)",
    note_placeholder: "Внутренняя заметка, её видят только агенты…  (Ctrl+Enter — добавить)",
    send_reply: "Отправить ответ",
    add_note: "Добавить заметку",
    attach_file: "Прикрепить файл",
    attach_reply_title: "Отправить файл клиенту; текст из поля, если он есть, станет подписью к нему. Файлы можно и перетащить на поле.",
    attach_note_title: "Добавить файл внутренней заметкой; текст из поля, если он есть, станет подписью. Файлы можно и перетащить на поле.",
    uploading: "Загрузка… {p}%",
    upload_failed: "Не удалось отправить файл: соединение прервалось. Может быть, он больше, чем принимает сервер?",
    drop_file: "Отпустите, чтобы прикрепить",
    open_image: "Открыть {name} в новой вкладке",
    download_file: "Скачать {name}",
    size_b: "{n} Б",
    size_kb: "{n} КБ",
    size_mb: "{n} МБ",
    internal_note: "Внутренняя заметка",
    system: "система",
    you: "вы",
    end_chat: "Завершить чат",
    end_chat_title: "Завершить чат #{n} со статусом",
    end_chat_hint: "Чат уйдёт из списка активных; статус выбираете вы.",
    auto_finish_warning: "Нет активности: чат завершится автоматически через {t}.",
    keep_active: "Оставить активным",
    split: "Выделить новые сообщения в отдельный чат",
    show_previous: "Показать предыдущий чат",
    hide_previous: "Скрыть предыдущий чат",
    merge: "Объединить текущий чат с предыдущим",
    merge_confirm: "Перенести все сообщения чата #{a} в предыдущий чат #{b}? Чат #{a} будет объединён и исчезнет из списков.",
    merge_do: "Объединить",
    go_previous: "Перейти к предыдущему чату",
    go_next: "Перейти к следующему чату",
    previous_chat: "Предыдущий чат #{n}",
    current_chat: "Текущий чат #{n}",
    reaction: "показать сообщение",
    customer_page: "Клиент",
    customer_chats: "Чаты клиента",
    external_id: "Идентификатор в канале",
    all_cases_of_customer: "Все обращения клиента",
    customer_email: "Эл. почта",
    customer_email_add: "Добавить эл. почту",
    customer_email_title: "С этим адресом клиент входит в центр поддержки и видит там все свои обращения.",
    customer_email_placeholder: "name@example.com (пусто — убрать)",
    clear: "убрать",
    settings_timers: "Автозавершение",
    after_seconds: "Завершать неактивный чат через (секунд)",
    warning_seconds: "Предупреждать за (секунд)",
    saved: "Сохранено.",
    channels: "Каналы",
    channel_name: "Название",
    webhook_url: "URL вебхука для ответов агентов (необязательно)",
    deliveries_failed: "Ответы, которые вебхук не смог доставить",
    delivery_line: "{time} · попыток: {n}",
    redeliver: "Отправить снова",
    redelivered: "Снова поставлено в очередь на отправку.",
    create_channel: "Создать канал",
    token_once: "Входящий токен канала {name} — показывается только сейчас, сохраните его:",
    inbound_url: "События клиентов отправляются POST-запросом на",
    new_channel: "Новый канал",
    channel_kind: "Тип",
    kind_api: "Мессенджер (API)",
    kind_widget: "Виджет чата на сайте",
    allowed_sites: "Разрешённые сайты",
    allowed_sites_hint: "По одному сайту в строке, например https://shop.example (схема, хост и порт, без пути). Пусто — любой сайт.",
    any_site: "Любой сайт. Задайте список до запуска, чтобы никто не мог поставить этот чат на свои страницы.",
    edit_sites: "Изменить разрешённые сайты",
    copy: "Копировать",
    copied: "Скопировано.",
    copy_by_hand: "Текст выделен: нажмите Ctrl+C (⌘C), чтобы скопировать.",
    snippet: "Код для сайта",
    snippet_label: "Строка, которую нужно вставить на сайт",
    widget_created: "Виджет чата {name} готов",
    snippet_paste: "Вставьте эту строку в каждую страницу сайта, где нужен чат, в любое место страницы (обычно перед </body>):",
    widget_secret: "Секрет канала — показывается только сейчас, сохраните его:",
    widget_secret_hint: "Им бэкенд сайта подписывает идентификаторы вошедших пользователей, чтобы каждый из них был одним клиентом на всех устройствах (docs/widget.md, «Identified users»). Никогда не вставляйте его в страницу.",
    done: "Готово",
    agents: "Агенты",
    name: "Имя",
    role: "Роль",
    role_admin: "администратор",
    role_agent: "агент",
    create_agent: "Добавить агента",
    agent_disabled: "отключён",
    agent_disable: "Отключить",
    agent_enable: "Включить",
    agent_end_sessions: "Выйти на всех устройствах",
    agent_unlock: "Снять блокировку входа",
    agent_set_password: "Задать пароль",
    agent_delete: "Удалить",
    agent_disable_confirm: "Отключить {name}? Все сеансы сразу завершатся, войти можно будет только после включения.",
    agent_delete_confirm: "Удалить {name}? Все сеансы завершатся, войти больше нельзя; имя останется в истории обращений, а назначенные обращения — за ним, пока вы их не переназначите.",
    agent_sessions_ended: "Завершено сеансов: {n}.",
    agent_unlocked: "Неудачные попытки входа забыты: {name} может войти.",
    agent_password_hint: "Новый пароль завершит все сеансы агента {name}.",
    new_password: "Новый пароль",
    current_password: "Текущий пароль",
    change_password: "Сменить пароль",
    password_changed: "Пароль изменён: войдите снова с новым паролем.",
    admins_only: "Эти настройки меняют только администраторы.",
    profile_title: "Ваш профиль",
    live: "онлайн",
    offline: "переподключение…",
    just_now: "сейчас",
    ago_min: "{n} мин",
    ago_h: "{n} ч",
    ago_d: "{n} дн",
    loading: "Загрузка…",
    not_found: "Не найдено.",
    merged_into: "Этот чат объединён с другим.",
    shortcuts: "Клавиши: Ctrl+Enter — отправить, Alt+Shift+E — завершить чат.",
    case_title: "Обращение #{n}",
    finished_banner: "Чат завершён ({s}).",
    history: "История",
    nav_reports: "Отчёты",
    reports_title: "Отчёты",
    period_from: "С",
    period_to: "По",
    group_by: "Группировка",
    group_day: "по дням",
    group_week: "по неделям",
    group_agent: "по агентам",
    group_channel: "по каналам",
    all_channels: "все каналы",
    summary: "Итоги",
    created_n: "Создано",
    finished_n: "Завершено",
    auto_finished_n: "Завершено автоматически",
    closed_n: "Закрыто",
    reopened_n: "Открыто повторно",
    split_n: "Выделено",
    merged_n: "Объединено",
    active_now: "Активных сейчас",
    reopen_rate: "Доля повторных открытий",
    split_rate: "Доля выделений",
    rate_hint: "{a} из {b} созданных",
    first_response: "Первый ответ",
    resolution: "Решение",
    median: "медиана",
    p90: "p90",
    chart_created: "Создано обращений ({unit}), по каналам",
    chart_times: "Время первого ответа и решения",
    workload: "Нагрузка агентов",
    workload_own: "Ваши показатели (агенты видят только свои)",
    breakdown: "Разбивка: {unit}",
    group: "Группа",
    total: "Всего",
    no_data: "нет данных",
    export_csv: "Экспорт CSV",
    export_xlsx: "Экспорт XLSX",
    export_hint: "Выгружает все обращения по текущим фильтрам в текущем порядке.",
    dur_s: "{n} с",
    dur_min: "{n} мин",
    dur_h: "{h} ч {m} мин",
    dur_d: "{d} дн {h} ч",
    nav_templates: "Шаблоны",
    labels: "Метки",
    label: "Метка",
    any_label: "любая",
    add_label_prompt: "Добавить метку…",
    remove_label: "Снять метку {name}",
    no_labels: "Меток пока нет.",
    unknown_label: "неизвестная метка",
    label_color: "Цвет",
    create_label: "Добавить метку",
    clear_color: "без цвета",
    help_center: "Центр поддержки",
    help_center_hint: "Клиенты входят со своей эл. почтой и видят свои обращения; эл. почту клиента укажите на странице обращения.",
    labels_hint: "Агенты ставят метки на обращения; список обращений фильтруется по ним. Удалённая метка снимается со всех обращений.",
    delete_label_confirm: "Удалить метку «{name}»? Она будет снята со всех обращений.",
    templates: "Шаблоны",
    templates_title: "Применить шаблон",
    templates_hint: "Ответ уйдёт клиенту, и все действия выполнятся сразу.",
    template_search: "Поиск шаблонов по названию и тексту",
    template_apply: "Применить",
    template_none: "Подходящих шаблонов нет.",
    template_no_text: "(без ответа: только действия)",
    template_preview: "Будет отправлен ответ",
    template_applied: "Шаблон «{name}» применён.",
    shared: "общий",
    personal: "личный",
    shared_with_team: "Общий для команды",
    new_template: "Новый шаблон",
    edit_template: "Изменить шаблон",
    template_name: "Название",
    template_body: "Текст ответа (необязательно)",
    placeholders_hint: "Подстановки, заполняются при применении шаблона:",
    placeholder_fallback: "запасное значение для пустого:",
    insert_placeholder: "Вставить в позицию курсора",
    actions: "Действия",
    action_type: "Действие",
    add_action: "Добавить действие",
    remove_action: "Удалить",
    no_actions: "Действий нет.",
    read_only: "только чтение: общие шаблоны меняют администраторы",
    delete: "Удалить",
    delete_template_confirm: "Удалить шаблон «{name}»?",
    deleted: "Удалено.",
    no_templates: "Шаблонов пока нет.",
    templates_page_hint: "Общие шаблоны доступны всей команде (их создают администраторы); личные видите только вы.",
    action_set_status: "Установить статус",
    action_finish_chat: "Завершить чат",
    action_assign: "Назначить",
    action_set_subject: "Изменить тему",
    action_add_note: "Добавить внутреннюю заметку",
    action_add_label: "Поставить метку",
    action_remove_label: "Снять метку",
    action_send_reply: "Отправить ответ",
    nav_rules: "Автоматизация",
    new_rule: "Новое правило",
    edit_rule: "Изменить правило",
    rule_name: "Название",
    no_rules: "Правил пока нет.",
    rules_page_hint: "Правила выполняются сверху вниз после каждого изменения обращения, в составе этого изменения; изменения, сделанные правилами, могут запустить другие правила — не больше двух кругов.",
    rules_read_only: "Только чтение: правила меняют администраторы.",
    rule_enabled: "Включено",
    rule_on: "включено",
    rule_off: "выключено",
    move_up: "Выше",
    move_down: "Ниже",
    delete_rule_confirm: "Удалить правило «{name}»? Оно сразу перестанет работать.",
    trigger: "Когда",
    trigger_to: "На статус",
    delay: "Сколько",
    delay_unit: "Единица",
    unit_name_seconds: "секунды",
    unit_name_minutes: "минуты",
    unit_name_hours: "часы",
    unit_name_days: "дни",
    unit_seconds: "секунду|секунды|секунд",
    unit_minutes: "минуту|минуты|минут",
    unit_hours: "час|часа|часов",
    unit_days: "день|дня|дней",
    trigger_case_created: "создано обращение",
    trigger_customer_message: "пришло сообщение клиента",
    trigger_agent_replied: "агент ответил",
    trigger_chat_finished: "чат завершён",
    trigger_status_changed: "изменился статус",
    trigger_pending_for: "обращение в ожидании уже…",
    trigger_open_without_reply: "обращение открыто без ответа уже…",
    when_case_created: "Когда создано обращение",
    when_customer_message: "Когда пришло сообщение клиента",
    when_agent_replied: "Когда агент ответил",
    when_chat_finished: "Когда чат завершён",
    when_status_changed: "Когда изменился статус",
    when_status_changed_to: "Когда статус стал «{v}»",
    when_pending_for: "Когда обращение в ожидании уже {v}",
    when_open_without_reply: "Когда обращение открыто без ответа уже {v}",
    when_unknown: "Когда {v}",
    conditions: "Условия (должны выполняться все)",
    no_conditions: "Без условий: правило действует на каждое обращение, с которым случился триггер.",
    add_condition: "Добавить условие",
    condition_type: "Условие",
    message_triggers_only: "только для триггеров «пришло сообщение клиента» и «агент ответил»",
    cond_channel_is: "канал — один из",
    cond_status_is: "статус — один из",
    cond_chat_state_is: "состояние чата",
    cond_has_label: "есть метка",
    cond_lacks_label: "нет метки",
    cond_subject_contains: "тема содержит",
    cond_message_contains: "сообщение содержит",
    cond_customer_name_contains: "имя клиента содержит",
    cond_customer_id_is: "идентификатор клиента в канале",
    cond_in_business_hours: "в рабочее время",
    cond_outside_business_hours: "в нерабочее время",
    if_channel_is: "канал — {v}",
    if_status_is: "статус — {v}",
    if_chat_state_is: "состояние чата — {v}",
    if_has_label: "есть метка {v}",
    if_lacks_label: "нет метки {v}",
    if_subject_contains: "тема содержит {v}",
    if_message_contains: "сообщение содержит {v}",
    if_customer_name_contains: "имя клиента содержит {v}",
    if_customer_id_is: "идентификатор клиента — {v}",
    if_in_business_hours: "в рабочее время",
    if_outside_business_hours: "в нерабочее время",
    word_if: ", если ",
    word_and: "и",
    word_or: "или",
    quoted: "«{v}»",
    unknown_channel: "неизвестный канал",
    do_set_status: "установить статус «{v}»",
    do_finish_chat: "завершить чат со статусом «{v}»",
    do_assign: "назначить: {v}",
    do_unassign: "снять ответственного",
    do_set_subject: "изменить тему на {v}",
    do_add_note: "добавить внутреннюю заметку {v}",
    do_send_reply: "отправить ответ {v}",
    do_add_label: "поставить метку {v}",
    do_remove_label: "снять метку {v}",
    rule_placeholders_hint: "В текстах ответа, темы и заметки можно использовать подстановки:",
    dry_run: "Пробный запуск",
    dry_run_hint: "Пробный запуск показывает, каких обращений правило коснулось бы сейчас; он ничего не меняет.",
    dry_run_matches: "Сейчас подходят обращений: {n} из {scanned} недавно активных:",
    dry_run_none: "Сейчас ни одно обращение не подходит (проверено недавно активных: {scanned}).",
  },
};

const LANG_KEY = "casedesk.lang";
let lang = (() => {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "ru") return saved;
  return (navigator.language || "").toLowerCase().startsWith("ru") ? "ru" : "en";
})();

function t(key, params) {
  let s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

function setLang(next) {
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next;
  renderShell();
  route();
}

// ------------------------------------------------------------------ DOM helpers

/** Builds an element. Strings become text nodes: never parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function $(sel) {
  return document.querySelector(sel);
}

// ------------------------------------------------------------------ API

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return "";
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("casedesk_csrf");
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", String(e.message || e));
  }
  return apiAnswer(path, resp.status, resp.statusText, await resp.text());
}

/** The JSON of an API answer, or its `{"error"}` thrown as an ApiError; a
 * 401 means the session has ended: back to the login. */
function apiAnswer(path, status, statusText, text) {
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = null;
    }
  }
  if (status < 200 || status > 299) {
    const err = (data && data.error) || {};
    const e = new ApiError(status, err.code || "http_" + status, err.message || statusText);
    if (status === 401 && state.me && !path.startsWith("/api/v1/auth/")) {
      state.me = null;
      showLogin();
    }
    throw e;
  }
  return data;
}

/** POSTs a file's bytes as the body (the API tells the type from them),
 * calling `onProgress` with the share sent so far (0..1). XHR rather than
 * fetch, because only it reports upload progress. Answers like `api`. */
function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", cookie("casedesk_csrf"));
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      try {
        resolve(apiAnswer(path, xhr.status, xhr.statusText, xhr.responseText));
      } catch (e) {
        reject(e);
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", t("upload_failed"))));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", t("upload_failed"))));
    xhr.send(file);
  });
}

// ------------------------------------------------------------------ state

const state = {
  me: null,
  agents: [],
  channels: [],
  labels: [], // the account's label catalogue, by name
  customers: new Map(), // id -> Promise<customer>
  active: [], // active chats
  events: null, // EventSource
  live: false,
  page: null, // the current page controller: { onNotice(n), tick(), dispose() }
};

function agentName(id) {
  const a = state.agents.find((x) => x.id === id);
  return a ? a.name : id ? id.slice(0, 8) : "";
}

function channelName(id) {
  const c = state.channels.find((x) => x.id === id);
  return c ? c.name : "";
}

function customer(id) {
  if (!state.customers.has(id)) {
    const p = api("GET", "/api/v1/customers/" + encodeURIComponent(id)).catch(() => null);
    state.customers.set(id, p);
  }
  return state.customers.get(id);
}

/** A text node filled in with the customer's name once known. */
function customerLabel(id) {
  const span = h("span", { class: "customer-name", dir: "auto" }, "…");
  customer(id).then((c) => {
    span.textContent = c ? c.name || c.external_id : id.slice(0, 8);
  });
  return span;
}

function statusLabel(s) {
  return t("status_" + s);
}

function stateLabel(s) {
  return s ? t("state_" + s) : t("state_none");
}

function badge(kind, value, label) {
  return h("span", { class: "badge " + kind + "-" + (value || "none"), "data-test": kind }, label);
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(lang === "ru" ? "ru-RU" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

function fmtAgo(iso) {
  const secs = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (secs < 60) return t("just_now");
  if (secs < 3600) return t("ago_min", { n: Math.floor(secs / 60) });
  if (secs < 86400) return t("ago_h", { n: Math.floor(secs / 3600) });
  return t("ago_d", { n: Math.floor(secs / 86400) });
}

function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

let toastTimer = null;
function toast(message, isError) {
  const el = $("#toast");
  if (!el) return;
  el.textContent = message;
  el.className = isError ? "toast error" : "toast";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), isError ? 8000 : 3000);
}

/** Runs an action, showing its error instead of throwing. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    toast(e.message || String(e), true);
    return undefined;
  }
}

// ------------------------------------------------------------------ dialogs

/** A modal dialog; each button runs its action, then closes the dialog.
 * `opts.class` adds classes to the dialog (a wider picker); `opts.closeLabel`
 * names the closing button when there is nothing to cancel. */
function openDialog(title, body, buttons, opts) {
  const dlg = h("dialog", { class: "dialog " + ((opts && opts.class) || ""), "data-test": "dialog" });
  const close = () => {
    dlg.close();
    dlg.remove();
  };
  append(
    dlg,
    h("h2", {}, title),
    body,
    h(
      "div",
      { class: "dialog-buttons" },
      buttons.map((b) =>
        h(
          "button",
          {
            type: "button",
            class: b.class || "",
            id: b.id,
            "data-test": b.test,
            onclick: async (e) => {
              // One click, one action: a slow call is not sent twice.
              const button = e.currentTarget;
              if (button.disabled) return;
              button.disabled = true;
              if (b.action) await b.action();
              close();
            },
          },
          b.label,
        ),
      ),
      h("button", { type: "button", class: "secondary", "data-test": "dialog-cancel", onclick: close }, (opts && opts.closeLabel) || t("cancel")),
    ),
  );
  dlg.addEventListener("cancel", () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  return dlg;
}

// ------------------------------------------------------------------ shell

function renderShell() {
  const app = clear($("#app"));
  document.documentElement.lang = lang;
  const langSelect = h(
    "select",
    { "aria-label": t("language"), "data-test": "lang", onchange: (e) => setLang(e.target.value) },
    h("option", { value: "en", selected: lang === "en" }, "English"),
    h("option", { value: "ru", selected: lang === "ru" }, "Русский"),
  );
  if (!state.me) {
    append(app, h("div", { class: "login-lang" }, langSelect), h("main", { id: "main", class: "login-main" }), toastEl());
    return;
  }
  const nav = h(
    "nav",
    { class: "nav" },
    h("a", { href: "#/active", "data-nav": "active", class: "nav-active" }, t("nav_active")),
    h("a", { href: "#/cases", "data-nav": "cases" }, t("nav_cases")),
    h("a", { href: "#/reports", "data-nav": "reports" }, t("nav_reports")),
    h("a", { href: "#/templates", "data-nav": "templates" }, t("nav_templates")),
    h("a", { href: "#/rules", "data-nav": "rules" }, t("nav_rules")),
    state.me.role === "admin" ? h("a", { href: "#/settings", "data-nav": "settings" }, t("nav_settings")) : null,
  );
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/active" }, t("brand")),
    nav,
    h(
      "div",
      { class: "topbar-right" },
      h("span", { class: state.live ? "live on" : "live", id: "live", title: "" }, state.live ? t("live") : t("offline")),
      langSelect,
      h("a", { href: "#/profile", class: "me", "data-test": "profile-link", dir: "auto" }, state.me.name),
      h("button", { type: "button", class: "link", "data-test": "logout", onclick: logout }, t("logout")),
    ),
  );
  const aside = h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h("h2", {}, t("nav_active"), " ", h("span", { class: "count", id: "active-count" })),
    h("ul", { class: "chat-list", id: "active-list", "data-test": "active-list" }),
  );
  append(app, header, h("div", { class: "layout" }, aside, h("main", { id: "main" })), toastEl());
  renderActive();
}

function toastEl() {
  return h("div", { id: "toast", class: "toast", role: "alert", hidden: true });
}

function setLive(on) {
  state.live = on;
  const el = $("#live");
  if (el) {
    el.textContent = on ? t("live") : t("offline");
    el.className = on ? "live on" : "live";
  }
}

// ------------------------------------------------------------------ active chats (live)

let activeReload = null;
function reloadActiveSoon() {
  clearTimeout(activeReload);
  activeReload = setTimeout(loadActive, 120);
}

async function loadActive() {
  if (!state.me) return;
  try {
    const data = await api("GET", "/api/v1/cases?chat_state=active&sort=last_activity_at&order=desc&limit=200");
    state.active = data.items;
    renderActive();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

function currentCaseId() {
  const m = location.hash.match(/^#\/case\/([^/?]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

function renderActive() {
  const list = $("#active-list");
  if (!list) return;
  clear(list);
  const now = Date.now();
  const open = currentCaseId();
  for (const c of state.active) {
    const warning = inWarning(c, now);
    const classes = ["chat-item"];
    if (c.unread) classes.push("unread");
    if (warning) classes.push("warning");
    if (c.id === open) classes.push("current");
    list.appendChild(
      h(
        "li",
        { class: classes.join(" "), "data-case-id": c.id, "data-test": "active-chat" },
        h(
          "a",
          { href: "#/case/" + encodeURIComponent(c.id) },
          h(
            "div",
            { class: "chat-line" },
            c.unread ? h("span", { class: "dot", title: t("unread"), "data-test": "unread" }) : null,
            h("span", { class: "num" }, "#" + c.number),
            h("span", { class: "ago", "data-test": "ago", "data-at": c.last_activity_at }, fmtAgo(c.last_activity_at)),
          ),
          h("div", { class: "chat-subject", dir: "auto", "data-test": "subject" }, c.subject),
          h("div", { class: "chat-meta" }, customerLabel(c.customer_id), " · ", channelName(c.channel_id)),
        ),
      ),
    );
  }
  if (!state.active.length) list.appendChild(h("li", { class: "empty" }, t("no_active")));
  const count = $("#active-count");
  if (count) count.textContent = state.active.length ? "(" + state.active.length + ")" : "";
  const unread = state.active.filter((c) => c.unread).length;
  document.title = (unread ? "(" + unread + ") " : "") + "casedesk";
}

/** R4: an active chat is in its warning period from its warning time until
 * it finishes; once the warning has fired only the finish time is left. */
function inWarning(c, now) {
  if (c.chat_state !== "active" || !c.auto_finish_at) return false;
  return !c.auto_finish_warning_at || new Date(c.auto_finish_warning_at).getTime() <= now;
}

function tickActive() {
  const now = Date.now();
  for (const el of document.querySelectorAll("#active-list [data-at]")) el.textContent = fmtAgo(el.dataset.at);
  for (const li of document.querySelectorAll("#active-list .chat-item")) {
    const c = state.active.find((x) => x.id === li.dataset.caseId);
    if (c) li.classList.toggle("warning", inWarning(c, now));
  }
}

// ------------------------------------------------------------------ live events

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource("/api/v1/events");
  state.events = es;
  let wasOpen = false;
  es.addEventListener("open", () => {
    setLive(true);
    // Anything may have changed while disconnected.
    if (wasOpen) resync();
    wasOpen = true;
  });
  es.addEventListener("error", () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) {
      // The server refused the stream (e.g. logged out elsewhere).
      setTimeout(async () => {
        try {
          await api("GET", "/api/v1/me");
          if (state.me) connectEvents();
        } catch (_) {
          /* shown by api() */
        }
      }, 3000);
    }
  });
  for (const kind of ["case.created", "case.updated", "message.created", "case.auto_finish_warning"]) {
    es.addEventListener(kind, (ev) => {
      let notice;
      try {
        notice = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      reloadActiveSoon();
      if (state.page && state.page.onNotice) state.page.onNotice(notice);
    });
  }
  es.addEventListener("resync", resync);
}

function resync() {
  reloadActiveSoon();
  if (state.page && state.page.onNotice) state.page.onNotice({ type: "resync" });
}

// ------------------------------------------------------------------ login / logout

function showLogin() {
  if (state.events) {
    state.events.close();
    state.events = null;
  }
  if (state.page && state.page.dispose) state.page.dispose();
  state.page = null;
  renderShell();
  const main = $("#main");
  const err = h("p", { class: "error", role: "alert", "data-test": "login-error" });
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, "data-test": "email" });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    "data-test": "password",
  });
  const form = h(
    "form",
    {
      class: "card login",
      "data-test": "login-form",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        try {
          const s = await api("POST", "/api/v1/auth/session", { email: email.value, password: password.value });
          state.me = s.agent;
          if (location.pathname !== "/") {
            location.replace("/" + (location.hash || "#/active"));
            return;
          }
          await start();
        } catch (e2) {
          err.textContent = e2.message;
        }
      },
    },
    h("h1", {}, t("login_title")),
    h("label", {}, t("email"), email),
    h("label", {}, t("password"), password),
    err,
    h("button", { type: "submit", "data-test": "sign-in" }, t("sign_in")),
  );
  append(main, form);
  email.focus();
}

async function logout() {
  await attempt(() => api("POST", "/api/v1/auth/logout"));
  state.me = null;
  state.customers.clear();
  showLogin();
}

// ------------------------------------------------------------------ routing

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/active";
  const [path, query] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

function route() {
  if (!state.me) return;
  if (state.page && state.page.dispose) state.page.dispose();
  state.page = null;
  const { parts, params } = parseHash();
  const main = clear($("#main"));
  const page = parts[0] || "active";
  document.body.dataset.page = page;
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("current", a.dataset.nav === page);
  renderActive();
  switch (page) {
    case "active":
      main.appendChild(h("div", { class: "placeholder" }, state.active.length ? t("pick_chat") : t("no_active")));
      break;
    case "cases":
      state.page = casesPage(main, params);
      break;
    case "case":
      state.page = casePage(main, parts[1]);
      break;
    case "customer":
      state.page = customerPage(main, parts[1]);
      break;
    case "reports":
      state.page = reportsPage(main, params);
      break;
    case "templates":
      state.page = templatesPage(main);
      break;
    case "rules":
      state.page = rulesPage(main);
      break;
    case "settings":
      state.page = settingsPage(main);
      break;
    case "profile":
      profilePage(main);
      break;
    default:
      main.appendChild(h("p", {}, t("not_found")));
  }
}

// ------------------------------------------------------------------ case list

const FILTERS = ["status", "chat_state", "channel_id", "assignee_id", "label_id", "customer_id", "q", "sort", "order"];

function casesPage(main, params) {
  let disposed = false;
  const field = (name, options) =>
    h(
      "select",
      { name, "data-test": "filter-" + name },
      options.map(([v, label]) => h("option", { value: v, selected: (params.get(name) || "") === v }, label)),
    );
  const statusSel = field("status", [["", t("any")], ...["open", "pending", "closed"].map((s) => [s, statusLabel(s)])]);
  const stateSel = field("chat_state", [
    ["", t("any")],
    ["active", t("state_active")],
    ["finished", t("state_finished")],
  ]);
  const channelSel = field("channel_id", [["", t("any")], ...state.channels.map((c) => [c.id, c.name])]);
  const agentSel = field("assignee_id", [["", t("any")], ...state.agents.map((a) => [a.id, a.name])]);
  // The catalogue may have changed since the app loaded: refill once fresh.
  let labelChoice = params.get("label_id") || "";
  const labelSel = h("select", { name: "label_id", "data-test": "filter-label_id", onchange: (e) => (labelChoice = e.target.value) });
  const fillLabels = () => fillLabelOptions(labelSel, t("any_label"), labelChoice, state.labels);
  fillLabels();
  loadLabels().then(() => disposed || fillLabels());
  const sortSel = field("sort", [
    ["created_at", t("sort_created")],
    ["last_activity_at", t("sort_activity")],
  ]);
  const orderSel = field("order", [
    ["desc", t("order_desc")],
    ["asc", t("order_asc")],
  ]);
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "", "data-test": "filter-q", placeholder: t("search") });
  const customerId = params.get("customer_id") || "";
  const customerFilter = customerId
    ? h(
        "span",
        { class: "chip", "data-test": "filter-customer" },
        t("customer"),
        ": ",
        customerLabel(customerId),
        " ",
        h("a", { href: "#/cases?" + without(params, "customer_id") }, t("clear")),
      )
    : null;
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e) => {
        e.preventDefault();
        const p = new URLSearchParams();
        for (const el of [statusSel, stateSel, channelSel, agentSel, labelSel, q, sortSel, orderSel]) {
          if (el.value.trim()) p.set(el.name, el.value.trim());
        }
        if (customerId) p.set("customer_id", customerId);
        location.hash = "#/cases?" + p.toString();
      },
    },
    h("label", {}, t("status"), statusSel),
    h("label", {}, t("chat_state"), stateSel),
    h("label", {}, t("channel"), channelSel),
    h("label", {}, t("assignee"), agentSel),
    h("label", {}, t("label"), labelSel),
    h("label", { class: "grow" }, t("search"), q),
    h("label", {}, t("sort"), sortSel),
    h("label", {}, " ", orderSel),
    customerFilter,
    h("button", { type: "submit", "data-test": "apply-filters" }, t("apply")),
    h("a", { href: "#/cases", class: "button secondary" }, t("reset")),
    h(
      "span",
      { class: "export", title: t("export_hint") },
      h("a", { href: exportUrl(params, "csv"), class: "button secondary", download: "", "data-test": "export-csv" }, t("export_csv")),
      h("a", { href: exportUrl(params, "xlsx"), class: "button secondary", download: "", "data-test": "export-xlsx" }, t("export_xlsx")),
    ),
  );
  const tbody = h("tbody", { "data-test": "case-rows" });
  const table = h(
    "table",
    { class: "cases" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [t("number"), t("subject"), t("customer"), t("channel"), t("status"), t("chat_state"), t("assignee"), t("created"), t("last_activity")].map(
          (x) => h("th", {}, x),
        ),
      ),
    ),
    tbody,
  );
  const more = h("button", { type: "button", class: "secondary", "data-test": "load-more", hidden: true }, t("load_more"));
  const empty = h("p", { class: "empty", hidden: true }, t("no_cases"));
  append(main, h("h1", {}, t("nav_cases")), form, h("div", { class: "table-wrap" }, table), empty, more);

  let cursor = null;
  let pages = 0;
  const query = () => {
    const p = new URLSearchParams();
    for (const k of FILTERS) if (params.get(k)) p.set(k, params.get(k));
    const limit = Number(params.get("limit"));
    p.set("limit", String(limit >= 1 && limit <= 200 ? limit : 50));
    if (cursor) p.set("cursor", cursor);
    return p.toString();
  };
  const load = async (reset) => {
    if (reset) {
      cursor = null;
      pages = 0;
    }
    const data = await attempt(() => api("GET", "/api/v1/cases?" + query()));
    if (!data || disposed) return;
    if (reset) clear(tbody);
    pages += 1;
    for (const c of data.items) tbody.appendChild(caseRow(c));
    cursor = data.next_cursor;
    more.hidden = !cursor;
    empty.hidden = tbody.children.length > 0;
  };
  more.addEventListener("click", () => load(false));
  load(true);
  let reload = null;
  return {
    onNotice() {
      // Refresh the first page only when the agent has not paged further.
      if (pages > 1) return;
      clearTimeout(reload);
      reload = setTimeout(() => load(true), 300);
    },
    dispose() {
      disposed = true;
      clearTimeout(reload);
    },
  };
}

/** The export of the list as shown: the same filters and order (a GET, so
 * the session cookie is enough). CSV starts with a BOM for Excel. */
function exportUrl(params, format) {
  const p = new URLSearchParams({ format });
  if (format === "csv") p.set("bom", "true");
  for (const k of FILTERS) if (params.get(k)) p.set(k, params.get(k));
  return "/api/v1/cases/export?" + p.toString();
}

function without(params, key) {
  const p = new URLSearchParams(params);
  p.delete(key);
  return p.toString();
}

function caseRow(c) {
  const href = "#/case/" + encodeURIComponent(c.id);
  return h(
    "tr",
    { "data-case-id": c.id, class: c.unread ? "unread" : "" },
    h("td", { class: "num" }, h("a", { href }, "#" + c.number)),
    h(
      "td",
      { class: "subject" },
      h("a", { href, dir: "auto", "data-test": "subject" }, c.subject),
      c.labels && c.labels.length
        ? h("div", { class: "label-chips", "data-test": "row-labels" }, c.labels.map((l) => labelChip(l, { href: labelFilterHref(l) })))
        : null,
    ),
    h("td", {}, h("a", { href: "#/customer/" + encodeURIComponent(c.customer_id) }, customerLabel(c.customer_id))),
    h("td", { class: "nowrap" }, channelName(c.channel_id)),
    h("td", {}, badge("status", c.status, statusLabel(c.status))),
    h("td", {}, badge("state", c.chat_state, stateLabel(c.chat_state))),
    h("td", {}, c.assignee_id ? agentName(c.assignee_id) : ""),
    h("td", { class: "time" }, fmtTime(c.created_at)),
    h("td", { class: "time" }, fmtTime(c.last_activity_at)),
  );
}

// ------------------------------------------------------------------ case / chat page

function casePage(main, caseId) {
  let disposed = false;
  let kase = null;
  let messages = [];
  let previous = null; // { case, messages } while shown
  let showPrevious = false;
  let editingSubject = false;
  let reloadTimer = null;
  let lastRendered = "";

  const header = h("div", { class: "case-header" });
  const customerEmail = customerEmailControl();
  const banners = h("div", { class: "banners" });
  const prevBox = h("div", { class: "previous-chat", "data-test": "previous-chat" });
  const chainTop = h("div", { class: "chain chain-top" });
  const thread = h("ol", { class: "thread", "data-test": "thread" });
  const chainBottom = h("div", { class: "chain chain-bottom" });
  const warning = h("div", { class: "auto-finish", "data-test": "auto-finish-warning", hidden: true });

  const reply = h("textarea", { rows: 3, placeholder: t("reply_placeholder"), "data-test": "reply", dir: "auto" });
  const note = h("textarea", { rows: 2, placeholder: t("note_placeholder"), "data-test": "note", dir: "auto" });
  const send = async (kind, box) => {
    const text = box.value;
    if (!text.trim()) return;
    box.disabled = true;
    const ok = await attempt(() =>
      api("POST", "/api/v1/cases/" + encodeURIComponent(caseId) + "/messages", { text, kind }),
    );
    box.disabled = false;
    if (ok) {
      box.value = "";
      await load();
    }
    box.focus();
  };
  const ctrlEnter = (kind, box) => (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send(kind, box);
    }
  };
  reply.addEventListener("keydown", ctrlEnter("reply", reply));
  note.addEventListener("keydown", ctrlEnter("note", note));
  // Each box attaches files of its own kind, so a file meant for agents
  // only goes exactly where a note would.
  const attachError = h("p", { class: "form-error attach-error", id: "attach-error", "data-test": "attach-error", role: "alert", hidden: true });
  const attachTo = (kind, box, ids) =>
    fileAttacher({ caseId, kind, box, ids, error: attachError, done: () => (disposed ? undefined : load()) });
  const replyFiles = attachTo("reply", reply, { button: "attach-file", input: "attach-input", title: "attach_reply_title" });
  const noteFiles = attachTo("note", note, { button: "attach-note-file", input: "attach-note-input", title: "attach_note_title" });
  // A file dropped beside the boxes would make the browser leave the app
  // to show it.
  const keepDroppedFiles = (e) => {
    if (hasFiles(e)) e.preventDefault();
  };
  document.addEventListener("dragover", keepDroppedFiles);
  document.addEventListener("drop", keepDroppedFiles);
  const endLink = h(
    "a",
    { href: "#", class: "end-chat", "data-test": "end-chat", hidden: true, onclick: (e) => (e.preventDefault(), openFinish()) },
    t("end_chat"),
  );
  const composer = h(
    "div",
    { class: "composer" },
    h(
      "div",
      { class: "compose-reply" },
      reply,
      h(
        "div",
        { class: "compose-row" },
        warning,
        h(
          "button",
          { type: "button", id: "templates-button", class: "secondary", "data-test": "templates-button", onclick: () => openTemplates() },
          t("templates"),
        ),
        replyFiles.input,
        replyFiles.button,
        h("button", { type: "button", "data-test": "send-reply", onclick: () => send("reply", reply) }, t("send_reply")),
      ),
    ),
    h(
      "div",
      { class: "compose-note" },
      note,
      h(
        "div",
        { class: "compose-row" },
        h("span", { class: "hint" }, t("shortcuts")),
        noteFiles.input,
        noteFiles.button,
        h("button", { type: "button", class: "note-button", "data-test": "add-note", onclick: () => send("note", note) }, t("add_note")),
      ),
    ),
    attachError,
    h("div", { class: "end-row" }, endLink),
  );
  replyFiles.dropOn(composer.querySelector(".compose-reply"));
  noteFiles.dropOn(composer.querySelector(".compose-note"));
  append(main, h("div", { class: "case-page" }, header, banners, chainTop, prevBox, thread, chainBottom, composer));
  main.appendChild(h("p", { class: "loading" }, t("loading")));

  const keydown = (e) => {
    if (e.altKey && e.shiftKey && (e.key === "E" || e.key === "e" || e.code === "KeyE")) {
      e.preventDefault();
      if (kase && kase.chat_state === "active") openFinish();
    }
  };
  document.addEventListener("keydown", keydown);

  function openFinish() {
    if (!kase || kase.chat_state !== "active" || document.querySelector("dialog[open]")) return;
    const finish = (status) => async () => {
      const done = await attempt(() =>
        api("POST", "/api/v1/cases/" + encodeURIComponent(kase.id) + "/finish", { status }),
      );
      if (done) {
        kase = done;
        render();
        reloadActiveSoon();
      }
    };
    openDialog(t("end_chat_title", { n: kase.number }), h("p", {}, t("end_chat_hint")), [
      { label: statusLabel("open"), test: "finish-open", action: finish("open") },
      { label: statusLabel("pending"), test: "finish-pending", action: finish("pending") },
      { label: statusLabel("closed"), test: "finish-closed", action: finish("closed") },
    ]);
  }

  // The label picker offers the catalogue as it is now, not as at sign-in.
  const labelsFresh = loadLabels();

  async function load() {
    try {
      const [c] = await Promise.all([api("GET", "/api/v1/cases/" + encodeURIComponent(caseId)), labelsFresh]);
      if (disposed) return;
      if (c.merged_into_id) {
        // R9: a merged chat redirects to the chat it went into.
        toast(t("merged_into"));
        location.replace("#/case/" + encodeURIComponent(c.merged_into_id));
        return;
      }
      const m = await api("GET", "/api/v1/cases/" + encodeURIComponent(caseId) + "/messages");
      if (showPrevious && c.previous_case_id) {
        const [pc, pm] = await Promise.all([
          api("GET", "/api/v1/cases/" + encodeURIComponent(c.previous_case_id)),
          api("GET", "/api/v1/cases/" + encodeURIComponent(c.previous_case_id) + "/messages"),
        ]);
        previous = { case: pc, messages: pm.items };
      } else {
        previous = null;
      }
      if (disposed) return;
      kase = c;
      messages = m.items;
      const loading = main.querySelector(".loading");
      if (loading) loading.remove();
      // Live notices often change nothing visible (a read mark, a timer):
      // then the page is left alone, so nothing moves under the cursor.
      const snapshot = JSON.stringify([{ ...kase, unread: false }, messages, previous, showPrevious, lang, state.labels]);
      if (snapshot !== lastRendered) {
        lastRendered = snapshot;
        render();
      }
      if (kase.unread) {
        const read = await api("POST", "/api/v1/cases/" + encodeURIComponent(caseId) + "/read").catch(() => null);
        if (read && !disposed) kase = read;
      }
    } catch (e) {
      if (disposed) return;
      if (e.status === 404) {
        clear(main).appendChild(h("p", {}, t("not_found")));
      } else {
        toast(e.message, true);
      }
    }
  }

  function render() {
    renderHeader();
    renderBanners();
    renderChain();
    renderPrevious();
    clear(thread);
    for (const m of messages) thread.appendChild(messageItem(m, kase));
    const active = kase.chat_state === "active";
    endLink.hidden = !active;
    tick();
  }

  function renderHeader() {
    if (editingSubject) return;
    clear(header);
    // First, so that the name below is read from the same fresh request.
    customerEmail.show(kase.customer_id);
    const title = h("h1", { class: "subject", dir: "auto", "data-test": "case-subject" }, kase.subject);
    const edit = h(
      "button",
      {
        type: "button",
        class: "link",
        "data-test": "edit-subject",
        onclick: () => {
          editingSubject = true;
          const input = h("input", { type: "text", value: kase.subject, maxlength: 255, "data-test": "subject-input", dir: "auto" });
          const done = () => {
            editingSubject = false;
            renderHeader();
          };
          const save = async () => {
            const updated = await attempt(() =>
              api("PATCH", "/api/v1/cases/" + encodeURIComponent(kase.id), { subject: input.value }),
            );
            if (updated) {
              kase = updated;
              done();
              reloadActiveSoon();
            }
          };
          input.addEventListener("keydown", (e) => {
            if (e.key === "Enter") save();
            if (e.key === "Escape") done();
          });
          clear(header).appendChild(
            h(
              "div",
              { class: "subject-edit" },
              h("span", { class: "num" }, "#" + kase.number),
              input,
              h("button", { type: "button", "data-test": "save-subject", onclick: save }, t("save")),
              h("button", { type: "button", class: "secondary", onclick: done }, t("cancel")),
            ),
          );
          input.focus();
          input.select();
        },
      },
      t("edit"),
    );
    const statusSel = h(
      "select",
      {
        "data-test": "status-select",
        "aria-label": t("status"),
        onchange: async (e) => {
          const updated = await attempt(() =>
            api("PATCH", "/api/v1/cases/" + encodeURIComponent(kase.id), { status: e.target.value }),
          );
          if (updated) kase = updated;
          render();
          reloadActiveSoon();
        },
      },
      ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: kase.status === s }, statusLabel(s))),
    );
    const assigneeSel = h(
      "select",
      {
        "data-test": "assignee-select",
        "aria-label": t("assignee"),
        onchange: async (e) => {
          const updated = await attempt(() =>
            api("PATCH", "/api/v1/cases/" + encodeURIComponent(kase.id), { assignee_id: e.target.value || null }),
          );
          if (updated) kase = updated;
          render();
        },
      },
      h("option", { value: "", selected: !kase.assignee_id }, t("unassigned")),
      state.agents.map((a) => h("option", { value: a.id, selected: kase.assignee_id === a.id }, a.name)),
    );
    append(
      header,
      h("div", { class: "title-row" }, h("span", { class: "num", "data-test": "case-number" }, "#" + kase.number), title, edit),
      h(
        "div",
        { class: "meta-row" },
        badge("state", kase.chat_state, stateLabel(kase.chat_state)),
        h("label", {}, t("status"), statusSel),
        h("label", {}, t("assignee"), assigneeSel),
        h(
          "span",
          {},
          t("customer"),
          ": ",
          h("a", { href: "#/customer/" + encodeURIComponent(kase.customer_id), "data-test": "customer-link" }, customerLabel(kase.customer_id)),
        ),
        customerEmail.el,
        h("span", { class: "muted" }, channelName(kase.channel_id)),
        h("span", { class: "muted" }, t("created"), ": ", fmtTime(kase.created_at)),
      ),
      labelsRow(),
    );
  }

  /** The case's labels as chips (× takes one off) and a picker of the rest
   * of the catalogue; each change re-renders from the case it returns. */
  function labelsRow() {
    const on = kase.labels || [];
    const path = "/api/v1/cases/" + encodeURIComponent(kase.id) + "/labels";
    const change = async (method, url, body) => {
      const updated = await attempt(() => api(method, url, body));
      if (updated && !disposed) {
        kase = updated;
        render();
      }
    };
    const rest = state.labels.filter((l) => !on.some((x) => x.id === l.id));
    const picker = rest.length
      ? h(
          "select",
          {
            id: "add-label",
            class: "add-label",
            "data-test": "add-label",
            "aria-label": t("add_label_prompt"),
            onchange: (e) => e.target.value && change("POST", path, { label_id: e.target.value }),
          },
          h("option", { value: "" }, t("add_label_prompt")),
          rest.map((l) => h("option", { value: l.id }, l.name)),
        )
      : null;
    return h(
      "div",
      { class: "labels-row", "data-test": "case-labels", "aria-label": t("labels") },
      on.map((l) =>
        labelChip(l, {
          href: labelFilterHref(l),
          onRemove: () => change("DELETE", path + "/" + encodeURIComponent(l.id)),
        }),
      ),
      picker,
    );
  }

  /** The template picker; applying sends the reply and runs the actions as
   * one change on the server, then the page shows the case as it now is. */
  async function openTemplates() {
    if (!kase || document.querySelector("dialog[open]")) return;
    const [list, cust] = await Promise.all([attempt(() => api("GET", "/api/v1/templates")), customer(kase.customer_id), labelsFresh]);
    if (!list || disposed) return;
    const values = {
      "customer.name": cust && cust.name,
      "customer.id": cust && cust.external_id,
      "case.number": kase.number,
      "case.subject": kase.subject,
      "agent.name": state.me.name,
      "agent.email": state.me.email,
      "channel.name": channelName(kase.channel_id),
    };
    templatePicker(list.items, values, async (tpl) => {
      const updated = await attempt(() =>
        api("POST", "/api/v1/cases/" + encodeURIComponent(kase.id) + "/apply-template", { template_id: tpl.id }),
      );
      if (!updated || disposed) return;
      kase = updated;
      toast(t("template_applied", { name: tpl.name }));
      reloadActiveSoon();
      await load();
    });
  }

  function renderBanners() {
    clear(banners);
    if (kase.split_available) {
      banners.appendChild(
        h(
          "div",
          { class: "banner" },
          h(
            "button",
            {
              type: "button",
              class: "link",
              "data-test": "split",
              onclick: async () => {
                const created = await attempt(() => api("POST", "/api/v1/cases/" + encodeURIComponent(kase.id) + "/split"));
                if (created) {
                  reloadActiveSoon();
                  location.hash = "#/case/" + encodeURIComponent(created.id);
                }
              },
            },
            t("split"),
          ),
        ),
      );
    }
    if (kase.chat_state === "finished") {
      banners.appendChild(h("div", { class: "banner muted", "data-test": "finished-banner" }, t("finished_banner", { s: statusLabel(kase.status) })));
    }
  }

  function renderChain() {
    clear(chainTop);
    clear(chainBottom);
    if (kase.previous_case_id) {
      append(
        chainTop,
        h("a", { href: "#/case/" + encodeURIComponent(kase.previous_case_id), "data-test": "go-previous" }, "↑ ", t("go_previous")),
        h(
          "button",
          {
            type: "button",
            class: "link",
            "data-test": "toggle-previous",
            onclick: () => {
              showPrevious = !showPrevious;
              load();
            },
          },
          showPrevious ? t("hide_previous") : t("show_previous"),
        ),
      );
      if (showPrevious && previous) {
        chainTop.appendChild(
          h(
            "button",
            {
              type: "button",
              class: "link danger",
              "data-test": "merge",
              onclick: () => {
                const a = kase.number;
                const b = previous.case.number;
                openDialog(t("merge"), h("p", {}, t("merge_confirm", { a, b })), [
                  {
                    label: t("merge_do"),
                    test: "merge-confirm",
                    class: "danger",
                    action: async () => {
                      const into = await attempt(() =>
                        api("POST", "/api/v1/cases/" + encodeURIComponent(kase.id) + "/merge-previous"),
                      );
                      if (into) {
                        showPrevious = false;
                        reloadActiveSoon();
                        location.hash = "#/case/" + encodeURIComponent(into.id);
                      }
                    },
                  },
                ]);
              },
            },
            t("merge"),
          ),
        );
      }
    }
    if (kase.next_case_id) {
      chainBottom.appendChild(
        h("a", { href: "#/case/" + encodeURIComponent(kase.next_case_id), "data-test": "go-next" }, "↓ ", t("go_next")),
      );
    }
  }

  function renderPrevious() {
    clear(prevBox);
    if (!showPrevious || !previous) {
      prevBox.hidden = true;
      return;
    }
    prevBox.hidden = false;
    const list = h("ol", { class: "thread previous" });
    for (const m of previous.messages) list.appendChild(messageItem(m, previous.case));
    append(
      prevBox,
      h(
        "div",
        { class: "divider" },
        h("a", { href: "#/case/" + encodeURIComponent(previous.case.id) }, t("previous_chat", { n: previous.case.number })),
        " ",
        badge("status", previous.case.status, statusLabel(previous.case.status)),
      ),
      list,
      h("div", { class: "divider" }, t("current_chat", { n: kase.number })),
    );
  }

  function tick() {
    if (!kase) return;
    const now = Date.now();
    const finishAt = kase.auto_finish_at ? new Date(kase.auto_finish_at).getTime() : null;
    if (!inWarning(kase, now)) {
      warning.hidden = true;
      return;
    }
    if (warning.hidden || !warning.firstChild) {
      clear(warning).appendChild(h("span", { class: "countdown", "data-test": "countdown" }));
      warning.appendChild(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "data-test": "keep-active",
            onclick: async () => {
              const kept = await attempt(() => api("POST", "/api/v1/cases/" + encodeURIComponent(kase.id) + "/keep-active"));
              if (kept) {
                kase = kept;
                render();
                reloadActiveSoon();
              }
            },
          },
          t("keep_active"),
        ),
      );
      warning.hidden = false;
    }
    warning.querySelector(".countdown").textContent = t("auto_finish_warning", { t: fmtCountdown(finishAt - now) });
    // Past the deadline the server finishes the chat; its notice reloads the page.
    // Poll as well, should the notice be missed.
    if (now > finishAt + 3000 && !reloadTimer) scheduleReload(0);
  }

  function scheduleReload(ms) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      load();
    }, ms);
  }

  load();
  return {
    onNotice(n) {
      const related = [caseId, kase && kase.previous_case_id, kase && kase.next_case_id];
      if (n.type === "resync" || related.includes(n.case_id)) scheduleReload(100);
    },
    tick,
    dispose() {
      disposed = true;
      clearTimeout(reloadTimer);
      document.removeEventListener("keydown", keydown);
      document.removeEventListener("dragover", keepDroppedFiles);
      document.removeEventListener("drop", keepDroppedFiles);
    },
  };
}

/** Whether a drag carries files (not text or a link). */
function hasFiles(e) {
  return !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
}

/** A composer box's "Attach file" button and its hidden file input: the
 * chosen (or dropped) files go to the case one after another as messages
 * of `kind`, the box's text as the first one's caption. The button shows
 * the progress; the server's refusal shows in `error`. `done` reloads the
 * thread after each file. */
function fileAttacher({ caseId, kind, box, ids, error, done }) {
  let busy = false;
  const input = h("input", {
    type: "file",
    id: ids.input,
    "data-test": ids.input,
    multiple: true,
    hidden: true,
    onchange: () => {
      const files = [...input.files];
      // Choosing the same file again must fire `change` again.
      input.value = "";
      send(files);
    },
  });
  const button = h(
    "button",
    { type: "button", id: ids.button, class: "secondary attach-button", "data-test": ids.button, title: t(ids.title), onclick: () => input.click() },
    t("attach_file"),
  );
  const progress = (share) => (button.textContent = t("uploading", { p: Math.round(share * 100) }));
  async function send(files) {
    if (busy || !files.length) return;
    busy = true;
    button.disabled = box.disabled = true;
    error.hidden = true;
    let current = null;
    try {
      for (const file of files) {
        current = file;
        const query = new URLSearchParams({ filename: file.name, kind });
        const caption = box.value.trim() ? box.value : "";
        if (caption) query.set("text", caption);
        progress(0);
        await uploadFile("/api/v1/cases/" + encodeURIComponent(caseId) + "/attachments?" + query, file, progress);
        if (caption) box.value = "";
        await done();
      }
    } catch (e) {
      error.textContent = current.name + ": " + e.message;
      error.hidden = false;
    } finally {
      busy = false;
      button.disabled = box.disabled = false;
      button.textContent = t("attach_file");
    }
  }
  /** Files dropped onto `area` are attached as if chosen. */
  function dropOn(area) {
    let depth = 0; // dragenter/dragleave fire for every child crossed
    area.setAttribute("data-drop-hint", t("drop_file"));
    const leave = () => {
      depth = 0;
      area.classList.remove("drop-target");
    };
    area.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      area.classList.add("drop-target");
    });
    area.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    area.addEventListener("dragleave", (e) => {
      if (hasFiles(e) && --depth <= 0) leave();
    });
    area.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      leave();
      send([...e.dataTransfer.files]);
    });
  }
  return { input, button, dropOn };
}

function messageItem(m, kase) {
  const kind = m.kind; // message | note | system
  const author = m.author || {};
  let who;
  if (kind === "system") who = t("system");
  else if (author.type === "customer") who = customerLabel(kase.customer_id);
  else if (author.type === "agent") who = author.id === (state.me && state.me.id) ? agentName(author.id) + " (" + t("you") + ")" : agentName(author.id);
  else who = author.type || "";
  const classes = ["msg", "msg-" + kind, "from-" + (author.type || "system")];
  const files = m.attachments || [];
  // Without a caption a file's message says just its name: the chip does.
  const uncaptioned = files.length === 1 && m.text === files[0].filename;
  const body = [uncaptioned ? null : h("div", { class: "text", dir: "auto", "data-test": "message-text" }, m.text)];
  if (files.length) body.push(attachmentsBox(files));
  if (m.reacted_message_id) {
    // R10: the note links to the message it reacts to.
    body.push(
      h(
        "a",
        {
          href: "#",
          class: "reaction-note",
          onclick: (e) => {
            e.preventDefault();
            const target = document.querySelector('[data-message-id="' + CSS.escape(m.reacted_message_id) + '"]');
            if (target) {
              target.scrollIntoView({ block: "center" });
              target.classList.add("flash");
              setTimeout(() => target.classList.remove("flash"), 1500);
            }
          },
        },
        "↪ ",
        t("reaction"),
      ),
    );
  }
  return h(
    "li",
    { class: classes.join(" "), "data-message-id": m.id, "data-kind": kind, "data-test": "message" },
    h(
      "div",
      { class: "msg-head" },
      kind === "note" ? h("span", { class: "note-label", "data-test": "note-label" }, t("internal_note")) : null,
      h("span", { class: "author" }, who),
      h("time", { datetime: m.created_at }, fmtTime(m.created_at)),
    ),
    body,
    m.reactions && m.reactions.length
      ? h(
          "div",
          { class: "reactions", "data-test": "reactions" },
          m.reactions.map((r) => h("span", { class: "reaction", title: fmtTime(r.created_at) }, r.emoji)),
        )
      : null,
  );
}

// ------------------------------------------------------------------ attachments

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

function attachmentUrl(a) {
  return "/api/v1/attachments/" + encodeURIComponent(a.id);
}

/** A message's files: images as thumbnails that open full size in a new
 * tab, the rest as chips that download (the server says so). */
function attachmentsBox(files) {
  return h("div", { class: "attachments", "data-test": "attachments" }, files.map((a) => (IMAGE_TYPES.includes(a.content_type) ? imageThumb(a) : fileChip(a))));
}

function imageThumb(a) {
  const img = h("img", { class: "att-img", "data-test": "att-img", src: attachmentUrl(a), alt: a.filename, decoding: "async" });
  const link = h(
    "a",
    {
      href: attachmentUrl(a),
      target: "_blank",
      rel: "noopener",
      class: "att-img-link",
      title: a.filename + " · " + fmtSize(a.size_bytes),
      "aria-label": t("open_image", { name: a.filename }),
    },
    img,
  );
  // An image that cannot be shown (its file gone) is still named.
  img.addEventListener("error", () => link.replaceWith(fileChip(a)), { once: true });
  return link;
}

function fileChip(a) {
  return h(
    "a",
    { href: attachmentUrl(a), class: "att-file", "data-test": "att-file", title: t("download_file", { name: a.filename }) },
    fileIcon(),
    h("span", { class: "att-name", dir: "auto", "data-test": "att-name" }, a.filename),
    h("span", { class: "att-size" }, fmtSize(a.size_bytes)),
  );
}

function fileIcon() {
  const line = { fill: "none", stroke: "currentColor", "stroke-width": 1.5, "stroke-linejoin": "round" };
  return svgEl(
    "svg",
    { class: "att-icon", viewBox: "0 0 16 20", width: 14, height: 18, "aria-hidden": "true" },
    svgEl("path", { d: "M1.5 1.5h8l5 5v12h-13z", ...line }),
    svgEl("path", { d: "M9.5 1.5v5h5", ...line }),
  );
}

/** A file size as people read it: 812 B, 4.2 KB, 12 MB. */
function fmtSize(bytes) {
  const num = (v) => v.toLocaleString(lang === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: v < 10 ? 1 : 0 });
  if (bytes < 1024) return t("size_b", { n: bytes });
  if (bytes < 1024 * 1024) return t("size_kb", { n: num(bytes / 1024) });
  return t("size_mb", { n: num(bytes / (1024 * 1024)) });
}

// ------------------------------------------------------------------ labels

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

/** Reloads the label catalogue into `state.labels`; never throws. */
async function loadLabels() {
  try {
    state.labels = (await api("GET", "/api/v1/labels")).items;
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
  return state.labels;
}

function sortLabels() {
  state.labels.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
}

function labelName(id) {
  const l = state.labels.find((x) => x.id === id);
  return l ? l.name : t("unknown_label");
}

function labelFilterHref(label) {
  return "#/cases?label_id=" + encodeURIComponent(label.id);
}

/** Dark or light text, whichever reads better on the colour. */
function inkOn(color) {
  const n = parseInt(color.slice(1), 16);
  const luma = 0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  return luma > 150 ? "#1d2330" : "#ffffff";
}

/** A label as a chip in its colour; `onRemove` adds a × button, `href`
 * makes the name a link. The colour goes in through CSSOM custom
 * properties: the Content-Security-Policy refuses style attributes. */
function labelChip(label, opts) {
  const o = opts || {};
  const name = o.href ? h("a", { href: o.href, dir: "auto" }, label.name) : h("span", { dir: "auto" }, label.name);
  const chip = h(
    "span",
    { class: "label-chip", "data-test": "label-chip", "data-label-id": label.id, title: label.name },
    name,
    o.onRemove
      ? h(
          "button",
          {
            type: "button",
            class: "label-remove",
            "data-test": "remove-label",
            "aria-label": t("remove_label", { name: label.name }),
            title: t("remove_label", { name: label.name }),
            onclick: o.onRemove,
          },
          "×",
        )
      : null,
  );
  if (label.color && COLOR_RE.test(label.color)) {
    chip.style.setProperty("--label-bg", label.color);
    chip.style.setProperty("--label-ink", inkOn(label.color));
  }
  return chip;
}

/** Fills a select with a first "any"-like option and the labels; an id no
 * longer in the catalogue stays selectable, so a filter never silently
 * changes. */
function fillLabelOptions(select, first, selected, labels) {
  clear(select);
  append(
    select,
    h("option", { value: "", selected: !selected }, first),
    labels.map((l) => h("option", { value: l.id, selected: l.id === selected }, l.name)),
    selected && !labels.some((l) => l.id === selected) ? h("option", { value: selected, selected: true }, t("unknown_label")) : null,
  );
}

// ------------------------------------------------------------------ templates (macros)

/** The placeholders a template text may use (the server refuses others). */
const PLACEHOLDERS = ["customer.name", "customer.id", "case.number", "case.subject", "agent.name", "agent.email", "channel.name"];
const ACTION_TYPES = ["set_status", "finish_chat", "assign", "set_subject", "add_note", "add_label", "remove_label"];

/** The reply as the server will send it: `{{name}}` or `{{name | fallback}}`,
 * the fallback standing in for a missing or blank value. A preview only:
 * the server renders the real text. */
function fillPlaceholders(text, values) {
  return text.replace(/\{\{([\s\S]*?)\}\}/g, (_, inner) => {
    const bar = inner.indexOf("|");
    const name = (bar < 0 ? inner : inner.slice(0, bar)).trim();
    const fallback = bar < 0 ? "" : inner.slice(bar + 1).trim();
    const v = values[name];
    return v !== null && v !== undefined && String(v).trim() ? String(v) : fallback;
  });
}

/** One line saying what an action does. */
function actionText(a) {
  const what = actionName(a.type);
  switch (a.type) {
    case "set_status":
    case "finish_chat":
      return what + ": " + statusLabel(a.status);
    case "assign":
      return what + ": " + (a.agent_id ? agentName(a.agent_id) : t("unassigned"));
    case "set_subject":
      return what + ": " + clip(a.subject, 60);
    case "add_note":
    case "send_reply":
      return what + ": " + clip(a.text, 60);
    case "add_label":
    case "remove_label":
      return what + ": " + labelName(a.label_id);
    default:
      return what;
  }
}

/** An action type's name; a type this page does not know yet shows as is. */
function actionName(type) {
  return STRINGS.en["action_" + type] ? t("action_" + type) : String(type);
}

function clip(text, n) {
  const s = String(text || "");
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** Name, kind, the start of the reply and the actions of a template. */
function templateSummary(tpl) {
  return [
    h(
      "div",
      { class: "template-head" },
      h("strong", { class: "template-name", dir: "auto", "data-test": "template-name" }, tpl.name),
      h("span", { class: "badge " + (tpl.shared ? "tpl-shared" : "tpl-personal"), "data-test": "template-kind" }, tpl.shared ? t("shared") : t("personal")),
    ),
    h("div", { class: "template-body", dir: "auto", "data-test": "template-body" }, tpl.body.trim() ? clip(tpl.body, 300) : t("template_no_text")),
    tpl.actions.length
      ? h("ul", { class: "template-actions", "data-test": "template-actions" }, tpl.actions.map((a) => h("li", {}, actionText(a))))
      : null,
  ];
}

/** The dialog to choose a template: a search over names and texts, the
 * list, a preview of the reply filled in for this case, and Apply. The
 * arrow keys move the choice and Enter applies it from the search field. */
function templatePicker(templates, values, apply) {
  let chosen = null;
  const search = h("input", {
    type: "search",
    id: "template-search",
    "data-test": "template-search",
    placeholder: t("template_search"),
    "aria-label": t("template_search"),
    autocomplete: "off",
  });
  const list = h("ul", { class: "template-list", id: "template-list", role: "listbox", "data-test": "template-list" });
  const none = h("p", { class: "muted", "data-test": "template-none", hidden: templates.length > 0 }, templates.length ? t("template_none") : t("no_templates"));
  const preview = h("div", { class: "template-preview", "data-test": "template-preview", hidden: true });
  const items = templates.map((tpl) => {
    const li = h(
      "li",
      { class: "template-item", role: "option", "aria-selected": "false", "data-id": tpl.id, "data-test": "template-item" },
      templateSummary(tpl),
    );
    const item = { tpl, li, text: (tpl.name + "\n" + tpl.body).toLocaleLowerCase() };
    li.addEventListener("click", () => choose(item));
    li.addEventListener("dblclick", () => {
      choose(item);
      applyButton.click();
    });
    list.appendChild(li);
    return item;
  });
  const choose = (item) => {
    chosen = item;
    for (const it of items) {
      it.li.classList.toggle("selected", it === item);
      it.li.setAttribute("aria-selected", it === item ? "true" : "false");
    }
    applyButton.disabled = !item;
    clear(preview);
    preview.hidden = !item || !item.tpl.body.trim();
    if (item && item.tpl.body.trim()) {
      append(
        preview,
        h("div", { class: "hint" }, t("template_preview")),
        h("div", { class: "text", dir: "auto", "data-test": "template-preview-text" }, fillPlaceholders(item.tpl.body, values)),
      );
    }
    if (item) item.li.scrollIntoView({ block: "nearest" });
  };
  const visible = () => items.filter((it) => !it.li.hidden);
  search.addEventListener("input", () => {
    const words = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    for (const it of items) it.li.hidden = !words.every((w) => it.text.includes(w));
    const shown = visible();
    none.hidden = shown.length > 0;
    if (chosen && chosen.li.hidden) choose(null);
    if (!chosen && shown.length === 1) choose(shown[0]);
  });
  search.addEventListener("keydown", (e) => {
    const shown = visible();
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!shown.length) return;
      const at = shown.indexOf(chosen);
      const next = e.key === "ArrowDown" ? Math.min(shown.length - 1, at + 1) : Math.max(0, at - 1);
      choose(shown[at < 0 ? 0 : next]);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (chosen) applyButton.click();
    }
  });
  const dlg = openDialog(
    t("templates_title"),
    h("div", { class: "template-picker-body" }, h("p", { class: "hint" }, t("templates_hint")), search, list, none, preview),
    [{ label: t("template_apply"), id: "template-apply", test: "template-apply", action: () => chosen && apply(chosen.tpl) }],
    { class: "template-picker" },
  );
  const applyButton = dlg.querySelector("#template-apply");
  applyButton.disabled = true;
  search.focus();
}

/** The Templates page: every template the agent may use; their own (and,
 * for admins, the shared ones) can be changed, the rest are read-only. */
function templatesPage(main) {
  let disposed = false;
  let templates = [];
  const isAdmin = state.me.role === "admin";
  const canEdit = (tpl) => (tpl.shared ? isAdmin : tpl.owner_id === state.me.id);
  const editorBox = h("div", { class: "template-editor-box" });
  const list = h("div", { class: "template-rows", id: "template-rows", "data-test": "template-rows" }, h("p", { class: "loading" }, t("loading")));
  append(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("nav_templates")),
      h("button", { type: "button", id: "template-new", "data-test": "template-new", onclick: () => edit(null) }, t("new_template")),
    ),
    h("p", { class: "hint" }, t("templates_page_hint")),
    editorBox,
    list,
  );
  const load = async () => {
    const [data] = await Promise.all([attempt(() => api("GET", "/api/v1/templates")), loadLabels()]);
    if (!data || disposed) return;
    templates = data.items;
    renderList();
  };
  const renderList = () => {
    clear(list);
    if (!templates.length) list.appendChild(h("p", { class: "empty" }, t("no_templates")));
    for (const tpl of templates) {
      const tools = canEdit(tpl)
        ? h(
            "div",
            { class: "template-tools" },
            h("button", { type: "button", class: "secondary", "data-test": "template-edit", onclick: () => edit(tpl) }, t("edit")),
            h("button", { type: "button", class: "link danger", "data-test": "template-delete", onclick: () => remove(tpl) }, t("delete")),
          )
        : h("div", { class: "template-tools muted", "data-test": "read-only" }, t("read_only"));
      list.appendChild(h("article", { class: "card template-row", "data-id": tpl.id, "data-test": "template-row" }, templateSummary(tpl), tools));
    }
  };
  const { edit, remove } = listActions({
    editorBox,
    load,
    editor: (tpl, on) => templateEditor(tpl, isAdmin, on),
    confirm: (tpl) => t("delete_template_confirm", { name: tpl.name }),
    path: (tpl) => "/api/v1/templates/" + encodeURIComponent(tpl.id),
    test: "template-delete-confirm",
  });
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}

/** The form for a new template (`tpl` null) or a change to one. */
/**
 * Edit and delete of a list page's items (templates, rules): the editor
 * opens in `editorBox` and reloads the list when saved; deleting asks first
 * and closes the item's editor if it is open.
 */
function listActions({ editorBox, load, editor, confirm, path, test }) {
  const edit = (item) => {
    const ed = editor(item, {
      saved: async () => {
        clear(editorBox);
        toast(t("saved"));
        await load();
      },
      cancel: () => clear(editorBox),
    });
    clear(editorBox).appendChild(ed.form);
    ed.form.scrollIntoView({ block: "nearest" });
    ed.focus();
  };
  const remove = (item) =>
    openDialog(t("delete"), h("p", { dir: "auto" }, confirm(item)), [
      {
        label: t("delete"),
        class: "danger",
        id: test,
        test,
        action: async () => {
          const done = await attempt(() => api("DELETE", path(item)));
          if (done === undefined) return;
          toast(t("deleted"));
          const open = editorBox.querySelector("form");
          if (open && open.dataset.id === item.id) clear(editorBox);
          await load();
        },
      },
    ]);
  return { edit, remove };
}

function templateEditor(tpl, isAdmin, on) {
  const name = h("input", { type: "text", id: "template-name", "data-test": "template-name-input", required: true, maxlength: 100, dir: "auto" });
  name.value = tpl ? tpl.name : "";
  const body = h("textarea", { id: "template-body", "data-test": "template-body-input", rows: 5, dir: "auto" });
  body.value = tpl ? tpl.body : "";
  const insert = (text) => {
    const [a, b] = [body.selectionStart, body.selectionEnd];
    body.setRangeText(text, a, b, "end");
    body.focus();
  };
  const placeholders = h(
    "div",
    { class: "hint placeholders", "data-test": "placeholders" },
    t("placeholders_hint"),
    PLACEHOLDERS.map((p) =>
      h(
        "button",
        { type: "button", class: "placeholder-chip", "data-placeholder": p, title: t("insert_placeholder"), onclick: () => insert("{{" + p + "}}") },
        "{{" + p + "}}",
      ),
    ),
    h("span", {}, t("placeholder_fallback")),
    h("code", {}, "{{customer.name | there}}"),
  );
  const actions = actionsEditor(tpl ? tpl.actions : [], ACTION_TYPES);
  const shared = isAdmin ? h("input", { type: "checkbox", id: "template-shared", "data-test": "template-shared", checked: tpl ? tpl.shared : true }) : null;
  const form = h(
    "form",
    {
      class: "card template-editor",
      id: "template-editor",
      "data-test": "template-editor",
      "data-id": tpl ? tpl.id : null,
      onsubmit: async (e) => {
        e.preventDefault();
        const payload = { name: name.value, body: body.value, actions: actions.read() };
        if (shared) payload.shared = shared.checked;
        const saved = await attempt(() =>
          tpl ? api("PATCH", "/api/v1/templates/" + encodeURIComponent(tpl.id), payload) : api("POST", "/api/v1/templates", payload),
        );
        if (saved) await on.saved(saved);
      },
    },
    h("h2", {}, tpl ? t("edit_template") : t("new_template")),
    h("label", {}, t("template_name"), name),
    h("label", {}, t("template_body"), body),
    placeholders,
    actions.el,
    shared ? h("label", { class: "check" }, shared, t("shared_with_team")) : null,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", id: "template-save", "data-test": "template-save" }, t("save")),
      h("button", { type: "button", class: "secondary", "data-test": "template-cancel", onclick: on.cancel }, t("cancel")),
    ),
  );
  return { form, focus: () => name.focus() };
}

/** A fieldset of rows added and removed freely and read in order: the
 * actions of templates and rules, the conditions of rules. `o.makeRow(item,
 * remove)` builds one row `{ el, read(), focus() }`; `o.fresh()` is what
 * "Add" starts a row with. Ids and test hooks follow `o.kind`
 * (`#action-rows`, `#action-add`, `#condition-rows`, …). */
function rowsEditor(o) {
  const rows = h("ol", { class: "editor-rows " + o.kind + "-rows", id: o.kind + "-rows", "data-test": o.kind + "-rows" });
  const none = h("p", { class: "muted" }, o.none);
  const items = [];
  const add = (item) => {
    const row = o.makeRow(item, () => {
      items.splice(items.indexOf(row), 1);
      row.el.remove();
      none.hidden = items.length > 0;
    });
    items.push(row);
    rows.appendChild(row.el);
    none.hidden = true;
    return row;
  };
  o.initial.forEach(add);
  none.hidden = items.length > 0;
  const el = h(
    "fieldset",
    { class: "rows-editor " + o.kind + "s-editor" },
    h("legend", {}, o.legend),
    none,
    rows,
    h(
      "button",
      { type: "button", class: "secondary", id: o.kind + "-add", "data-test": o.kind + "-add", onclick: () => add(o.fresh()).focus() },
      o.addLabel,
    ),
    o.hint || null,
  );
  return { el, read: () => items.map((r) => r.read()), rows: () => items.slice() };
}

/** The actions editor of templates (`ACTION_TYPES`) and rules
 * (`RULE_ACTION_TYPES`). */
function actionsEditor(initial, types, hint) {
  return rowsEditor({
    kind: "action",
    legend: t("actions"),
    none: t("no_actions"),
    addLabel: t("add_action"),
    initial,
    hint,
    fresh: () => ({ type: "set_status", status: "closed" }),
    makeRow: (a, remove) => actionRow(a, remove, types),
  });
}

/** One row of the actions editor: the type, then what that type needs. An
 * action of a type this editor does not offer is kept exactly as it is. */
function actionRow(initial, onRemove, known) {
  const param = h("span", { class: "action-param" });
  let read = () => ({ type: typeSel.value });
  const types = known.includes(initial.type) ? known : known.concat([initial.type]);
  const typeSel = h(
    "select",
    {
      class: "action-type",
      "data-test": "action-type",
      "aria-label": t("action_type"),
      // Back to the type it had: its values come back too.
      onchange: () => fill(typeSel.value === initial.type ? initial : { type: typeSel.value }),
    },
    types.map((ty) => h("option", { value: ty, selected: ty === initial.type }, actionName(ty))),
  );
  const fill = (a) => {
    clear(param);
    const type = a.type;
    if (!known.includes(type)) {
      param.appendChild(h("code", { class: "muted" }, JSON.stringify(a)));
      read = () => a;
    } else if (type === "set_status" || type === "finish_chat") {
      const sel = h(
        "select",
        { class: "action-status", "data-test": "action-status", "aria-label": t("status") },
        ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: (a.status || "closed") === s }, statusLabel(s))),
      );
      param.appendChild(sel);
      read = () => ({ type, status: sel.value });
    } else if (type === "assign") {
      const sel = h(
        "select",
        { class: "action-agent", "data-test": "action-agent", "aria-label": t("assignee") },
        h("option", { value: "", selected: !a.agent_id }, t("unassigned")),
        state.agents.map((ag) => h("option", { value: ag.id, selected: a.agent_id === ag.id }, ag.name)),
      );
      param.appendChild(sel);
      read = () => ({ type, agent_id: sel.value || null });
    } else if (type === "set_subject" || type === "add_note" || type === "send_reply") {
      const key = type === "set_subject" ? "subject" : "text";
      const input =
        type === "set_subject"
          ? h("input", { type: "text", maxlength: 255, class: "action-text", "data-test": "action-text", "aria-label": t("subject"), dir: "auto" })
          : h("textarea", {
              rows: 2,
              class: "action-text",
              "data-test": "action-text",
              "aria-label": type === "send_reply" ? t("send_reply") : t("internal_note"),
              dir: "auto",
            });
      input.value = a[key] || "";
      param.appendChild(input);
      read = () => ({ type, [key]: input.value });
    } else {
      const sel = h("select", { class: "action-label", "data-test": "action-label", "aria-label": t("labels") });
      const first = state.labels.length ? state.labels[0].id : "";
      fillLabelOptions(sel, state.labels.length ? "—" : t("no_labels"), a.label_id || first, state.labels);
      param.appendChild(sel);
      read = () => ({ type, label_id: sel.value });
    }
  };
  fill(initial);
  const el = h(
    "li",
    { class: "action-row", "data-test": "action-row" },
    typeSel,
    param,
    h("button", { type: "button", class: "link danger action-remove", "data-test": "action-remove", onclick: onRemove }, t("remove_action")),
  );
  return { el, read: () => read(), focus: () => typeSel.focus() };
}

// ------------------------------------------------------------------ automation rules

const RULE_ACTION_TYPES = ACTION_TYPES.concat(["send_reply"]);
const TRIGGER_TYPES = ["case_created", "customer_message", "agent_replied", "chat_finished", "status_changed", "pending_for", "open_without_reply"];
const TIME_TRIGGERS = ["pending_for", "open_without_reply"];
/** The triggers that come with a message, which `message_contains` reads. */
const MESSAGE_TRIGGERS = ["customer_message", "agent_replied"];
const CONDITION_TYPES = [
  "channel_is",
  "status_is",
  "chat_state_is",
  "has_label",
  "lacks_label",
  "subject_contains",
  "message_contains",
  "customer_name_contains",
  "customer_id_is",
  "in_business_hours",
  "outside_business_hours",
];
/** Units of a time trigger's delay; the API takes seconds. */
const DELAY_UNITS = [
  ["seconds", 1],
  ["minutes", 60],
  ["hours", 3600],
  ["days", 86400],
];

/** "2 days", "1 час", "5 минут": the count with the fitting plural form
 * (`unit_days` holds "day|days" in English, three forms in Russian). */
function countOf(n, unit) {
  const forms = t("unit_" + unit).split("|");
  let i;
  if (lang === "ru" && forms.length === 3) {
    const [m10, m100] = [n % 10, n % 100];
    i = m10 === 1 && m100 !== 11 ? 0 : m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14) ? 1 : 2;
  } else {
    i = n === 1 ? 0 : 1;
  }
  return n + " " + forms[Math.min(i, forms.length - 1)];
}

/** Seconds as a number of the largest unit that divides them evenly. */
function splitDelay(seconds) {
  for (const [unit, size] of DELAY_UNITS.slice().reverse()) {
    if (seconds >= size && seconds % size === 0) return [seconds / size, unit];
  }
  return [seconds, "seconds"];
}

function quoted(text) {
  return t("quoted", { v: clip(text, 60) });
}

/** "a or b" / "a или b". */
function eitherOf(items) {
  return items.length > 1 ? items.slice(0, -1).join(", ") + " " + t("word_or") + " " + items[items.length - 1] : items.join("");
}

/** The "When …" part of a rule's summary. */
function triggerText(tr) {
  if (!TRIGGER_TYPES.includes(tr.type)) return t("when_unknown", { v: tr.type });
  if (tr.type === "status_changed" && tr.to) return t("when_status_changed_to", { v: statusLabel(tr.to) });
  if (TIME_TRIGGERS.includes(tr.type)) {
    const [n, unit] = splitDelay(tr.seconds);
    return t("when_" + tr.type, { v: countOf(n, unit) });
  }
  return t("when_" + tr.type);
}

function conditionName(type) {
  return STRINGS.en["cond_" + type] ? t("cond_" + type) : String(type);
}

/** One condition as words: "channel is Messenger", "has label VIP". */
function conditionText(c) {
  switch (c.type) {
    case "channel_is":
      return t("if_channel_is", { v: eitherOf((c.channel_ids || []).map((id) => channelName(id) || t("unknown_channel"))) });
    case "status_is":
      return t("if_status_is", { v: eitherOf((c.statuses || []).map(statusLabel)) });
    case "chat_state_is":
      return t("if_chat_state_is", { v: stateLabel(c.chat_state) });
    case "has_label":
    case "lacks_label":
      return t("if_" + c.type, { v: labelName(c.label_id) });
    case "subject_contains":
    case "message_contains":
    case "customer_name_contains":
      return t("if_" + c.type, { v: quoted(c.text) });
    case "customer_id_is":
      return t("if_customer_id_is", { v: quoted(c.customer_id) });
    case "in_business_hours":
    case "outside_business_hours":
      return t("if_" + c.type);
    default:
      return String(c.type);
  }
}

/** One action as the end of a sentence: "set status closed". */
function actionPhrase(a) {
  switch (a.type) {
    case "set_status":
    case "finish_chat":
      return t("do_" + a.type, { v: statusLabel(a.status) });
    case "assign":
      return a.agent_id ? t("do_assign", { v: agentName(a.agent_id) }) : t("do_unassign");
    case "set_subject":
      return t("do_set_subject", { v: quoted(a.subject) });
    case "add_note":
    case "send_reply":
      return t("do_" + a.type, { v: quoted(a.text) });
    case "add_label":
    case "remove_label":
      return t("do_" + a.type, { v: labelName(a.label_id) });
    default:
      return actionName(a.type);
  }
}

/** "When a case has been pending for 2 days, if channel is Messenger: send
 * reply “…”, set status closed". */
function ruleSentence(rule) {
  const conds = rule.conditions.map(conditionText);
  return (
    triggerText(rule.trigger) +
    (conds.length ? t("word_if") + conds.join(" " + t("word_and") + " ") : "") +
    ": " +
    rule.actions.map(actionPhrase).join(", ")
  );
}

/** The Automation page: every agent reads the rules in the order they run;
 * admins create, change, enable or disable, reorder and delete them. */
function rulesPage(main) {
  let disposed = false;
  let rules = [];
  const isAdmin = state.me.role === "admin";
  const editorBox = h("div", { class: "rule-editor-box" });
  const list = h("ol", { class: "rule-rows", id: "rule-rows", "data-test": "rule-rows" }, h("li", { class: "loading" }, t("loading")));
  append(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("nav_rules")),
      isAdmin ? h("button", { type: "button", id: "rules-new", "data-test": "rules-new", onclick: () => edit(null) }, t("new_rule")) : null,
    ),
    h("p", { class: "hint" }, t("rules_page_hint")),
    isAdmin ? null : h("p", { class: "hint", "data-test": "rules-read-only" }, t("rules_read_only")),
    editorBox,
    list,
  );
  const load = async () => {
    const [data] = await Promise.all([attempt(() => api("GET", "/api/v1/rules")), loadLabels()]);
    if (!data || disposed) return;
    rules = data.items;
    renderList();
  };
  const renderList = () => {
    clear(list);
    list.dataset.loaded = "true";
    if (!rules.length) list.appendChild(h("li", { class: "empty" }, t("no_rules")));
    rules.forEach((rule, i) => list.appendChild(ruleItem(rule, i)));
  };
  const ruleItem = (rule, i) => {
    const toggle = h("input", {
      type: "checkbox",
      class: "rule-toggle",
      "data-test": "rule-toggle",
      checked: rule.enabled,
      onchange: async () => {
        toggle.disabled = true;
        const updated = await attempt(() => api("PATCH", "/api/v1/rules/" + encodeURIComponent(rule.id), { enabled: toggle.checked }));
        if (disposed) return;
        if (updated) rules = rules.map((r) => (r.id === updated.id ? updated : r));
        renderList();
      },
    });
    const tools = isAdmin
      ? h(
          "div",
          { class: "rule-tools" },
          h("label", { class: "check" }, toggle, t("rule_enabled")),
          h("button", { type: "button", class: "secondary", "data-test": "rule-up", disabled: i === 0, onclick: () => move(i, -1) }, t("move_up")),
          h(
            "button",
            { type: "button", class: "secondary", "data-test": "rule-down", disabled: i === rules.length - 1, onclick: () => move(i, 1) },
            t("move_down"),
          ),
          h("button", { type: "button", class: "secondary", "data-test": "rule-edit", onclick: () => edit(rule) }, t("edit")),
          h("button", { type: "button", class: "link danger", "data-test": "rule-delete", onclick: () => remove(rule) }, t("delete")),
        )
      : null;
    return h(
      "li",
      { class: "card rule-item" + (rule.enabled ? "" : " disabled"), "data-id": rule.id, "data-enabled": String(rule.enabled), "data-test": "rule-item" },
      h(
        "div",
        { class: "rule-head" },
        h("span", { class: "rule-pos" }, String(i + 1) + "."),
        h("strong", { class: "rule-name", dir: "auto", "data-test": "rule-name" }, rule.name),
        h("span", { class: "badge " + (rule.enabled ? "rule-on" : "rule-off"), "data-test": "rule-state" }, rule.enabled ? t("rule_on") : t("rule_off")),
      ),
      h("p", { class: "rule-summary", dir: "auto", "data-test": "rule-summary" }, ruleSentence(rule)),
      tools,
    );
  };
  /** Moves rule `i` one place up (-1) or down (+1): the rules keep the
   * positions they had, in the new order, and only those whose position
   * changes are patched (the two swapped ones, unless positions tie). */
  const move = async (i, step) => {
    const j = i + step;
    if (j < 0 || j >= rules.length) return;
    const order = rules.slice();
    [order[i], order[j]] = [order[j], order[i]];
    const positions = rules.map((r) => r.position);
    const distinct = new Set(positions).size === positions.length;
    const target = distinct ? positions : rules.map((_, k) => k + 1);
    for (const b of list.querySelectorAll("button")) b.disabled = true;
    for (const [k, r] of order.entries()) {
      if (r.position === target[k]) continue;
      const done = await attempt(() => api("PATCH", "/api/v1/rules/" + encodeURIComponent(r.id), { position: target[k] }));
      if (!done) break;
    }
    await load();
  };
  const { edit, remove } = listActions({
    editorBox,
    load,
    editor: ruleEditor,
    confirm: (rule) => t("delete_rule_confirm", { name: rule.name }),
    path: (rule) => "/api/v1/rules/" + encodeURIComponent(rule.id),
    test: "rule-delete-confirm",
  });
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}

/** The form for a new rule (`rule` null) or a change to one, with a dry run
 * of what is on screen. */
function ruleEditor(rule, on) {
  const initial = rule || { name: "", enabled: true, trigger: { type: "customer_message" }, conditions: [], actions: [] };
  const name = h("input", { type: "text", id: "rule-name", "data-test": "rule-name-input", required: true, maxlength: 100, dir: "auto" });
  name.value = initial.name;

  // The trigger, with the status of status_changed and the delay of time rules.
  const tr0 = initial.trigger;
  const triggerTypes = TRIGGER_TYPES.includes(tr0.type) ? TRIGGER_TYPES : TRIGGER_TYPES.concat([tr0.type]);
  const triggerSel = h(
    "select",
    { id: "rule-trigger", "data-test": "rule-trigger", onchange: () => triggerChanged() },
    triggerTypes.map((ty) => h("option", { value: ty, selected: ty === tr0.type }, STRINGS.en["trigger_" + ty] ? t("trigger_" + ty) : ty)),
  );
  const toSel = h(
    "select",
    { id: "rule-trigger-to", "data-test": "rule-trigger-to" },
    h("option", { value: "", selected: !tr0.to }, t("any")),
    ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: tr0.to === s }, statusLabel(s))),
  );
  const [n0, unit0] = splitDelay(tr0.seconds || 86400);
  const delayIn = h("input", { type: "number", id: "rule-delay", "data-test": "rule-delay", min: 1, step: 1, required: true, value: String(n0) });
  const unitSel = h(
    "select",
    { id: "rule-delay-unit", "data-test": "rule-delay-unit", "aria-label": t("delay_unit") },
    DELAY_UNITS.map(([unit]) => h("option", { value: unit, selected: unit === unit0 }, t("unit_name_" + unit))),
  );
  const toBox = h("label", { class: "rule-to" }, t("trigger_to"), toSel);
  const delayBox = h("div", { class: "rule-delay" }, h("label", {}, t("delay"), delayIn), h("label", {}, t("delay_unit"), unitSel));
  const readTrigger = () => {
    const type = triggerSel.value;
    if (!TRIGGER_TYPES.includes(type)) return tr0;
    if (type === "status_changed") return toSel.value ? { type, to: toSel.value } : { type };
    if (TIME_TRIGGERS.includes(type)) {
      const size = DELAY_UNITS.find(([u]) => u === unitSel.value)[1];
      return { type, seconds: Math.round(Number(delayIn.value) * size) };
    }
    return { type };
  };

  const conditions = rowsEditor({
    kind: "condition",
    legend: t("conditions"),
    none: t("no_conditions"),
    addLabel: t("add_condition"),
    initial: initial.conditions,
    fresh: () => (MESSAGE_TRIGGERS.includes(triggerSel.value) ? { type: "message_contains", text: "" } : { type: "subject_contains", text: "" }),
    makeRow: (c, remove) => conditionRow(c, remove, triggerSel.value),
  });
  const actions = actionsEditor(
    initial.actions,
    RULE_ACTION_TYPES,
    h("p", { class: "hint" }, t("rule_placeholders_hint"), " ", PLACEHOLDERS.map((p) => [h("code", {}, "{{" + p + "}}"), " "])),
  );
  const triggerChanged = () => {
    const type = triggerSel.value;
    toBox.hidden = type !== "status_changed";
    delayBox.hidden = !TIME_TRIGGERS.includes(type);
    // Hidden fields must not block saving a trigger that has none.
    delayIn.disabled = delayBox.hidden;
    for (const row of conditions.rows()) row.fit(type);
  };
  triggerChanged();

  const enabled = h("input", { type: "checkbox", id: "rule-enabled", "data-test": "rule-enabled", checked: initial.enabled });
  const result = h("div", { class: "dry-run-result", id: "rule-dry-run-result", "data-test": "dry-run-result", hidden: true });
  // The API's refusal stays next to the buttons while the admin fixes the
  // rule (a toast would cover them and go away).
  const error = h("p", { class: "error form-error", id: "rule-error", role: "alert", "data-test": "rule-error", hidden: true });
  const run = async (fn) => {
    error.hidden = true;
    try {
      return await fn();
    } catch (e) {
      error.textContent = e.message || String(e);
      error.hidden = false;
      error.scrollIntoView({ block: "nearest" });
      return undefined;
    }
  };
  const read = () => ({ trigger: readTrigger(), conditions: conditions.read(), actions: actions.read() });
  const dryRunButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      id: "rule-dry-run",
      "data-test": "rule-dry-run",
      title: t("dry_run_hint"),
      onclick: async () => {
        if (!form.reportValidity()) return;
        dryRunButton.disabled = true;
        result.hidden = true;
        const r = await run(() => api("POST", "/api/v1/rules/dry-run", read()));
        dryRunButton.disabled = false;
        if (r) showDryRun(result, r);
      },
    },
    t("dry_run"),
  );
  const form = h(
    "form",
    {
      class: "card rule-editor",
      id: "rule-editor",
      "data-test": "rule-editor",
      "data-id": rule ? rule.id : null,
      onsubmit: async (e) => {
        e.preventDefault();
        const payload = { name: name.value, enabled: enabled.checked, ...read() };
        const saved = await run(() =>
          rule ? api("PATCH", "/api/v1/rules/" + encodeURIComponent(rule.id), payload) : api("POST", "/api/v1/rules", payload),
        );
        if (saved) await on.saved(saved);
      },
    },
    h("h2", {}, rule ? t("edit_rule") : t("new_rule")),
    h("label", {}, t("rule_name"), name),
    h("div", { class: "rule-trigger" }, h("label", {}, t("trigger"), triggerSel), toBox, delayBox),
    conditions.el,
    actions.el,
    h("label", { class: "check" }, enabled, t("rule_enabled")),
    error,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", id: "rule-save", "data-test": "rule-save" }, t("save")),
      dryRunButton,
      h("button", { type: "button", class: "secondary", "data-test": "rule-cancel", onclick: on.cancel }, t("cancel")),
    ),
    result,
  );
  return { form, focus: () => name.focus() };
}

/** The dry run's answer: the matching cases as links, or that none match. */
function showDryRun(box, r) {
  clear(box);
  box.hidden = false;
  append(
    box,
    h(
      "p",
      { "data-test": "dry-run-summary" },
      r.cases.length ? t("dry_run_matches", { n: r.cases.length, scanned: r.scanned }) : t("dry_run_none", { scanned: r.scanned }),
    ),
    r.cases.length
      ? h(
          "ul",
          { class: "plain dry-run-list" },
          r.cases.map((c) =>
            h(
              "li",
              {},
              h("a", { href: "#/case/" + encodeURIComponent(c.id), class: "dry-run-case", "data-id": c.id, "data-test": "dry-run-case" }, "#" + c.number),
              " ",
              h("span", { class: "subject", dir: "auto" }, c.subject),
              " ",
              badge("status", c.status, statusLabel(c.status)),
              c.chat_state ? [" ", badge("state", c.chat_state, stateLabel(c.chat_state))] : null,
            ),
          ),
        )
      : null,
    h("p", { class: "hint" }, t("dry_run_hint")),
  );
}

/** One row of the conditions editor: the type, then what that type needs
 * (nothing for business hours). A condition of a type this page does not
 * know is kept as it is. `message_contains` is offered only with a
 * message trigger (`fit` follows the trigger); one already chosen stays, and
 * the API says why it does not fit. */
function conditionRow(initial, onRemove, trigger) {
  const param = h("span", { class: "condition-param" });
  let read = () => ({ type: typeSel.value });
  const types = CONDITION_TYPES.includes(initial.type) ? CONDITION_TYPES : CONDITION_TYPES.concat([initial.type]);
  const typeSel = h(
    "select",
    {
      class: "condition-type",
      "data-test": "condition-type",
      "aria-label": t("condition_type"),
      onchange: () => {
        fill(typeSel.value === initial.type ? initial : { type: typeSel.value });
        fit(currentTrigger);
      },
    },
    types.map((ty) => h("option", { value: ty, selected: ty === initial.type }, conditionName(ty))),
  );
  const checkboxes = (choices, chosen, test) => {
    const boxes = choices.map(([value, label]) => {
      const box = h("input", { type: "checkbox", value, checked: chosen.includes(value), "data-test": test });
      param.appendChild(h("label", { class: "check" }, box, h("span", { dir: "auto" }, label)));
      return box;
    });
    return () => boxes.filter((b) => b.checked).map((b) => b.value);
  };
  const fill = (c) => {
    clear(param);
    const type = c.type;
    if (!CONDITION_TYPES.includes(type)) {
      param.appendChild(h("code", { class: "muted" }, JSON.stringify(c)));
      read = () => c;
    } else if (type === "channel_is") {
      const chosen = c.channel_ids || [];
      const gone = chosen.filter((id) => !state.channels.some((ch) => ch.id === id));
      const get = checkboxes(state.channels.map((ch) => [ch.id, ch.name]).concat(gone.map((id) => [id, t("unknown_channel")])), chosen, "condition-channel");
      read = () => ({ type, channel_ids: get() });
    } else if (type === "status_is") {
      const get = checkboxes(["open", "pending", "closed"].map((s) => [s, statusLabel(s)]), c.statuses || [], "condition-status");
      read = () => ({ type, statuses: get() });
    } else if (type === "chat_state_is") {
      const sel = h(
        "select",
        { class: "condition-chat-state", "data-test": "condition-chat-state", "aria-label": t("chat_state") },
        ["active", "finished"].map((s) => h("option", { value: s, selected: (c.chat_state || "active") === s }, stateLabel(s))),
      );
      param.appendChild(sel);
      read = () => ({ type, chat_state: sel.value });
    } else if (type === "has_label" || type === "lacks_label") {
      const sel = h("select", { class: "condition-label", "data-test": "condition-label", "aria-label": t("label") });
      const first = state.labels.length ? state.labels[0].id : "";
      fillLabelOptions(sel, state.labels.length ? "—" : t("no_labels"), c.label_id || first, state.labels);
      param.appendChild(sel);
      read = () => ({ type, label_id: sel.value });
    } else if (type === "in_business_hours" || type === "outside_business_hours") {
      read = () => ({ type });
    } else {
      const key = type === "customer_id_is" ? "customer_id" : "text";
      const input = h("input", {
        type: "text",
        maxlength: key === "text" ? 500 : 255,
        class: "condition-text",
        "data-test": "condition-text",
        "aria-label": conditionName(type),
        dir: "auto",
      });
      input.value = c[key] || "";
      param.appendChild(input);
      read = () => ({ type, [key]: input.value });
    }
  };
  let currentTrigger = trigger;
  const fit = (tr) => {
    currentTrigger = tr;
    const option = typeSel.querySelector("option[value=message_contains]");
    option.disabled = !MESSAGE_TRIGGERS.includes(tr) && typeSel.value !== "message_contains";
    option.title = option.disabled ? t("message_triggers_only") : "";
  };
  fill(initial);
  fit(trigger);
  const el = h(
    "li",
    { class: "condition-row", "data-test": "condition-row" },
    typeSel,
    param,
    h("button", { type: "button", class: "link danger condition-remove", "data-test": "condition-remove", onclick: onRemove }, t("remove_action")),
  );
  return { el, read: () => read(), focus: () => typeSel.focus(), fit };
}

// ------------------------------------------------------------------ customer page

/** The customer's e-mail, which signs them in to the Help Center, with an
 * inline editor: "Add e-mail", or "E-mail: x@y Edit"; saving an empty box
 * removes the address. The element outlives re-renders of the page around
 * it (`show(customerId)` on each), so a live update does not throw away
 * what the agent is typing. The server checks the address and keeps it in
 * lower case; its message is shown as it is. */
function customerEmailControl() {
  const box = h("span", { class: "customer-email", title: t("customer_email_title") });
  let customerId = null;
  let email = null;
  let editing = false;

  const view = () => {
    editing = false;
    const edit = h(
      "button",
      { type: "button", class: "link", id: "customer-email-edit", onclick: startEdit },
      email ? t("edit") : t("customer_email_add"),
    );
    clear(box);
    if (email) append(box, t("customer_email"), ": ", h("span", { id: "customer-email", dir: "auto" }, email), " ");
    box.appendChild(edit);
  };

  function startEdit() {
    editing = true;
    const id = customerId;
    const input = h("input", {
      type: "text",
      inputmode: "email",
      autocomplete: "off",
      spellcheck: "false",
      maxlength: 254,
      id: "customer-email-input",
      value: email || "",
      placeholder: t("customer_email_placeholder"),
      "aria-label": t("customer_email"),
    });
    const error = h("span", { id: "customer-email-error", class: "error", role: "alert", hidden: true });
    const saveButton = h("button", { type: "button", id: "customer-email-save" }, t("save"));
    const save = async () => {
      if (saveButton.disabled) return;
      saveButton.disabled = true;
      try {
        const c = await api("PATCH", "/api/v1/customers/" + encodeURIComponent(id), { email: input.value.trim() || null });
        state.customers.set(id, Promise.resolve(c));
        if (customerId !== id) return;
        email = c.email;
        view();
      } catch (e) {
        if (customerId !== id) return;
        error.textContent = e.message;
        error.hidden = false;
        saveButton.disabled = false;
        input.focus();
      }
    };
    saveButton.addEventListener("click", save);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") save();
      if (e.key === "Escape") view();
    });
    clear(box).appendChild(
      h(
        "span",
        { class: "customer-email-edit" },
        input,
        saveButton,
        h("button", { type: "button", class: "secondary", id: "customer-email-cancel", onclick: view }, t("cancel")),
        error,
      ),
    );
    input.focus();
  }

  return {
    el: box,
    /** Shows the e-mail of this customer, read afresh when the customer
     * changes (another agent may have set it since it was cached). */
    show(id) {
      if (id === customerId) return;
      customerId = id;
      email = null;
      clear(box);
      state.customers.delete(id);
      customer(id).then((c) => {
        if (customerId !== id || editing || !c) return;
        email = c.email || null;
        view();
      });
    },
  };
}

function customerPage(main, customerId) {
  let disposed = false;
  const box = h("div", { class: "customer-page" }, h("p", {}, t("loading")));
  main.appendChild(box);
  const load = async () => {
    const c = await attempt(() => api("GET", "/api/v1/customers/" + encodeURIComponent(customerId)));
    if (!c || disposed) {
      if (!c && !disposed) clear(box).appendChild(h("p", {}, t("not_found")));
      return;
    }
    const cases = [];
    let cursor = null;
    do {
      const p = new URLSearchParams({ customer_id: customerId, sort: "created_at", order: "asc", limit: "200" });
      if (cursor) p.set("cursor", cursor);
      const page = await attempt(() => api("GET", "/api/v1/cases?" + p.toString()));
      if (!page) return;
      cases.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && cases.length < 2000);
    if (disposed) return;
    clear(box);
    append(
      box,
      h("h1", { dir: "auto", "data-test": "customer-name" }, c.name || c.external_id),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("external_id")),
        h("dd", { dir: "auto" }, c.external_id),
        h("dt", {}, t("channel")),
        h("dd", {}, channelName(c.channel_id)),
        h("dt", {}, t("created")),
        h("dd", {}, fmtTime(c.created_at)),
      ),
      h("h2", {}, t("customer_chats")),
      h(
        "ol",
        { class: "chain-list", "data-test": "customer-chats" },
        cases.map((k) =>
          h(
            "li",
            { "data-case-id": k.id, class: k.id === c.latest_case_id ? "latest" : "" },
            h("a", { href: "#/case/" + encodeURIComponent(k.id) }, "#" + k.number),
            " ",
            h("span", { dir: "auto", class: "subject" }, k.subject),
            " ",
            badge("status", k.status, statusLabel(k.status)),
            " ",
            badge("state", k.chat_state, stateLabel(k.chat_state)),
            " ",
            h("span", { class: "muted" }, fmtTime(k.created_at)),
          ),
        ),
      ),
      h("a", { href: "#/cases?customer_id=" + encodeURIComponent(customerId) }, t("all_cases_of_customer")),
    );
  };
  load();
  let timer = null;
  return {
    onNotice() {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}

// ------------------------------------------------------------------ reports

const SVG_NS = "http://www.w3.org/2000/svg";

/** Builds an SVG element; like `h`, text only ever goes in as textContent. */
function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function isoDate(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

/** Seconds as a short human duration; "—" when there is no value. */
function fmtDuration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return "—";
  const n = Math.round(secs);
  if (n < 60) return t("dur_s", { n });
  if (n < 3600) return t("dur_min", { n: Math.round(n / 60) });
  if (n < 86400) return t("dur_h", { h: Math.floor(n / 3600), m: Math.floor((n % 3600) / 60) });
  return t("dur_d", { d: Math.floor(n / 86400), h: Math.floor((n % 86400) / 3600) });
}

function fmtRate(part, whole) {
  if (!whole) return "—";
  return (Math.round((1000 * part) / whole) / 10).toLocaleString(lang === "ru" ? "ru-RU" : "en-GB") + " %";
}

function groupLabel(g) {
  return g.key === null ? t("unassigned") : g.label;
}

function reportsPage(main, params) {
  let disposed = false;
  const today = new Date();
  const monthAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29);
  const valid = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || "");
  const from = valid(params.get("from")) ? params.get("from") : isoDate(monthAgo);
  const to = valid(params.get("to")) ? params.get("to") : isoDate(today);
  const groupBy = ["day", "week", "agent", "channel"].includes(params.get("group_by")) ? params.get("group_by") : "day";
  const channelId = state.channels.some((c) => c.id === params.get("channel_id")) ? params.get("channel_id") : "";

  const fromIn = h("input", { type: "date", name: "from", value: from, required: true, "data-test": "report-from" });
  const toIn = h("input", { type: "date", name: "to", value: to, required: true, "data-test": "report-to" });
  const groupSel = h(
    "select",
    { name: "group_by", "data-test": "report-group-by" },
    ["day", "week", "agent", "channel"].map((g) => h("option", { value: g, selected: g === groupBy }, t("group_" + g))),
  );
  const channelSel = h(
    "select",
    { name: "channel_id", "data-test": "report-channel" },
    h("option", { value: "" }, t("all_channels")),
    state.channels.map((c) => h("option", { value: c.id, selected: c.id === channelId }, c.name)),
  );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e) => {
        e.preventDefault();
        const p = new URLSearchParams();
        for (const el of [fromIn, toIn, groupSel, channelSel]) if (el.value) p.set(el.name, el.value);
        location.hash = "#/reports?" + p.toString();
      },
    },
    h("label", {}, t("period_from"), fromIn),
    h("label", {}, t("period_to"), toIn),
    h("label", {}, t("group_by"), groupSel),
    h("label", {}, t("channel"), channelSel),
    h("button", { type: "submit", "data-test": "report-apply" }, t("apply")),
  );
  const body = h("div", { class: "reports", "data-test": "reports" }, h("p", { class: "loading" }, t("loading")));
  append(main, h("h1", {}, t("reports_title")), form, body);

  const stats = (extra) => {
    const p = new URLSearchParams({ from, to, ...extra });
    if (channelId && !p.has("channel_id")) p.set("channel_id", channelId);
    return api("GET", "/api/v1/stats?" + p.toString());
  };

  const load = async () => {
    // The chart's time unit: the chosen one, or days for agent/channel groupings.
    const unit = groupBy === "week" ? "week" : "day";
    const chartChannels = channelId ? state.channels.filter((c) => c.id === channelId) : state.channels;
    let results;
    try {
      results = await Promise.all([
        stats({ group_by: groupBy }),
        groupBy === "agent" ? null : stats({ group_by: "agent" }),
        Promise.all(chartChannels.map((c) => stats({ group_by: unit, channel_id: c.id }))),
      ]);
    } catch (e) {
      if (disposed) return;
      clear(body).appendChild(h("p", { class: "error", "data-test": "report-error" }, e.message));
      return;
    }
    if (disposed) return;
    const [main_, byAgent, perChannel] = results;
    const agents = byAgent || main_;
    const total = main_.total;
    clear(body);
    append(
      body,
      summaryCards(total),
      h(
        "section",
        { class: "card chart-card" },
        h("h2", {}, t("chart_created", { unit: t("group_" + unit) })),
        createdChart(
          chartChannels.map((c, i) => ({ name: c.name, groups: perChannel[i].groups })),
          perChannel.length ? perChannel[0].groups.map((g) => g.label) : [],
          t("chart_created", { unit: t("group_" + unit) }),
        ),
      ),
      h("section", { class: "card chart-card" }, h("h2", {}, t("chart_times")), timesChart(total)),
      h(
        "section",
        { class: "card" },
        h("h2", {}, t("workload")),
        state.me.role === "admin" ? null : h("p", { class: "hint" }, t("workload_own")),
        figuresTable(agents.groups, agents.total, "workload"),
      ),
      groupBy === "agent"
        ? null
        : h(
            "section",
            { class: "card" },
            h("h2", {}, t("breakdown", { unit: t("group_" + groupBy) })),
            figuresTable(main_.groups, total, "breakdown"),
          ),
    );
  };
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}

function summaryCards(total) {
  const item = (key, label, value, hint) =>
    h(
      "div",
      { class: "figure", "data-test": "figure-" + key },
      h("div", { class: "figure-value", "data-test": "figure-value" }, String(value)),
      h("div", { class: "figure-label" }, label),
      hint ? h("div", { class: "hint" }, hint) : null,
    );
  return h(
    "section",
    { class: "figures", "data-test": "report-summary", "aria-label": t("summary") },
    item("created", t("created_n"), total.cases_created),
    item("finished", t("finished_n"), total.cases_finished, t("auto_finished_n") + ": " + total.cases_auto_finished),
    item("closed", t("closed_n"), total.cases_closed),
    item("reopened", t("reopened_n"), total.cases_reopened),
    item("split", t("split_n"), total.cases_split),
    item("merged", t("merged_n"), total.cases_merged),
    item("active", t("active_now"), total.active_chats_now === null ? "—" : total.active_chats_now),
    item(
      "reopen-rate",
      t("reopen_rate"),
      fmtRate(total.cases_reopened, total.cases_created),
      t("rate_hint", { a: total.cases_reopened, b: total.cases_created }),
    ),
    item(
      "split-rate",
      t("split_rate"),
      fmtRate(total.cases_split, total.cases_created),
      t("rate_hint", { a: total.cases_split, b: total.cases_created }),
    ),
    item(
      "first-response",
      t("first_response"),
      fmtDuration(total.first_response_seconds.median),
      t("p90") + ": " + fmtDuration(total.first_response_seconds.p90),
    ),
    item(
      "resolution",
      t("resolution"),
      fmtDuration(total.resolution_seconds.median),
      t("p90") + ": " + fmtDuration(total.resolution_seconds.p90),
    ),
  );
}

/** A round upper bound for a chart's axis. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Stacked bars: one bar per day or week, one colour per channel. */
function createdChart(series, labels, title) {
  const W = 760;
  const H = 240;
  const left = 36;
  const bottom = 34;
  const top = 10;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, ser) => sum + ((ser.groups[i] || {}).cases_created || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = svgEl("svg", {
    viewBox: "0 0 " + W + " " + H,
    class: "chart",
    role: "img",
    "data-test": "chart-created",
    "data-total": totals.reduce((a, b) => a + b, 0),
  });
  svg.appendChild(svgEl("title", {}, title));
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH - frac * plotH;
    svg.appendChild(svgEl("line", { x1: left, x2: W - 8, y1: y, y2: y, class: "grid" }));
    svg.appendChild(svgEl("text", { x: left - 4, y: y + 4, class: "axis", "text-anchor": "end" }, String(Math.round(frac * max * 10) / 10)));
  }
  const n = Math.max(1, labels.length);
  const step = plotW / n;
  const barW = Math.max(1, step * 0.75);
  const every = Math.ceil(n / 10);
  labels.forEach((label, i) => {
    const x = left + i * step + (step - barW) / 2;
    let y = top + plotH;
    series.forEach((ser, si) => {
      const v = (ser.groups[i] || {}).cases_created || 0;
      if (!v) return;
      const hgt = (v / max) * plotH;
      y -= hgt;
      svg.appendChild(
        svgEl(
          "rect",
          { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: hgt.toFixed(1), class: "bar series-" + (si % 6), "data-value": v },
          svgEl("title", {}, label + " · " + ser.name + ": " + v),
        ),
      );
    });
    if (i % every === 0) {
      svg.appendChild(
        svgEl("text", { x: (left + i * step + step / 2).toFixed(1), y: H - bottom + 16, class: "axis", "text-anchor": "middle" }, shortLabel(label)),
      );
    }
  });
  const legend = h(
    "ul",
    { class: "legend" },
    series.map((ser, si) =>
      h("li", {}, h("span", { class: "swatch series-" + (si % 6) }), h("span", { dir: "auto" }, ser.name), " ", h("span", { class: "muted" }, String(ser.groups.reduce((a, g) => a + g.cases_created, 0)))),
    ),
  );
  return h("div", { class: "chart-wrap" }, svg, legend);
}

/** "2026-11-03" → "11-03"; weeks stay as they are. */
function shortLabel(label) {
  return /^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label;
}

/** Horizontal bars: median and p90 of first response and resolution. */
function timesChart(total) {
  const rows = [
    [t("first_response") + " · " + t("median"), total.first_response_seconds.median, "median"],
    [t("first_response") + " · " + t("p90"), total.first_response_seconds.p90, "p90"],
    [t("resolution") + " · " + t("median"), total.resolution_seconds.median, "median"],
    [t("resolution") + " · " + t("p90"), total.resolution_seconds.p90, "p90"],
  ];
  const W = 760;
  const rowH = 30;
  const labelW = 230;
  const valueW = 110;
  const H = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r[1] || 0));
  const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "data-test": "chart-times" });
  svg.appendChild(svgEl("title", {}, t("chart_times")));
  rows.forEach(([label, v, kind], i) => {
    const y = 4 + i * rowH;
    svg.appendChild(svgEl("text", { x: labelW - 8, y: y + 19, class: "axis label", "text-anchor": "end" }, label));
    const w = v ? Math.max(2, ((W - labelW - valueW) * v) / max) : 0;
    svg.appendChild(svgEl("rect", { x: labelW, y: y + 5, width: w.toFixed(1), height: rowH - 10, class: "bar time-" + kind }, svgEl("title", {}, label + ": " + fmtDuration(v))));
    svg.appendChild(svgEl("text", { x: labelW + w + 6, y: y + 19, class: "axis value" }, v === null || v === undefined ? t("no_data") : fmtDuration(v)));
  });
  return svg;
}

/** One row per group (agent, channel, day or week) with every figure. */
function figuresTable(groups, total, test) {
  const cols = [
    [t("created_n"), (f) => f.cases_created],
    [t("finished_n"), (f) => f.cases_finished],
    [t("closed_n"), (f) => f.cases_closed],
    [t("reopened_n"), (f) => f.cases_reopened],
    [t("split_n"), (f) => f.cases_split],
    [t("merged_n"), (f) => f.cases_merged],
    [t("median"), (f) => fmtDuration(f.first_response_seconds.median)],
    [t("p90"), (f) => fmtDuration(f.first_response_seconds.p90)],
    [t("median"), (f) => fmtDuration(f.resolution_seconds.median)],
    [t("p90"), (f) => fmtDuration(f.resolution_seconds.p90)],
  ];
  const counts = cols.length - 4;
  const row = (label, f, cls) =>
    h("tr", { class: cls || "" }, h("th", { dir: "auto", scope: "row" }, label), cols.map(([, get]) => h("td", { class: "n" }, String(get(f)))));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "cases figures-table", "data-test": test },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { rowspan: 2 }, t("group")),
          cols.slice(0, counts).map(([label]) => h("th", { class: "n", rowspan: 2 }, label)),
          h("th", { class: "n span", colspan: 2 }, t("first_response")),
          h("th", { class: "n span", colspan: 2 }, t("resolution")),
        ),
        h("tr", {}, cols.slice(counts).map(([label]) => h("th", { class: "n" }, label))),
      ),
      h("tbody", {}, groups.map((g) => row(groupLabel(g), g, ""))),
      h("tfoot", {}, row(t("total"), total, "total")),
    ),
  );
}

// ------------------------------------------------------------------ settings (admins)

function settingsPage(main) {
  if (state.me.role !== "admin") {
    main.appendChild(h("p", {}, t("admins_only")));
    return null;
  }
  const after = h("input", { type: "number", min: 1, required: true, "data-test": "after-seconds" });
  const warn = h("input", { type: "number", min: 1, required: true, "data-test": "warning-seconds" });
  const timers = h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        const s = await attempt(() =>
          api("PATCH", "/api/v1/settings", {
            chat_auto_finish_after_seconds: Number(after.value),
            chat_auto_finish_warning_seconds: Number(warn.value),
          }),
        );
        if (s) toast(t("saved"));
      },
    },
    h("h2", {}, t("settings_timers")),
    h("label", {}, t("after_seconds"), after),
    h("label", {}, t("warning_seconds"), warn),
    h("button", { type: "submit", "data-test": "save-timers" }, t("save")),
  );
  api("GET", "/api/v1/settings")
    .then((s) => {
      after.value = s.chat_auto_finish_after_seconds;
      warn.value = s.chat_auto_finish_warning_seconds;
    })
    .catch((e) => toast(e.message, true));

  const channels = channelsCard();
  const agentList = h("ul", { class: "plain", "data-test": "agent-list" });
  const renderAgents = () => {
    clear(agentList);
    for (const a of state.agents) {
      agentList.appendChild(
        h(
          "li",
          { "data-test": "agent-row", "data-agent": a.id },
          h("strong", { dir: "auto" }, a.name),
          " ",
          a.email,
          " · ",
          t("role_" + a.role),
          a.disabled ? h("span", { class: "badge", "data-test": "agent-disabled" }, " · " + t("agent_disabled")) : null,
          a.id === state.me.id ? null : agentActions(a, renderAgents),
        ),
      );
    }
  };
  renderAgents();
  // Another admin may have changed the team since this page loaded.
  api("GET", "/api/v1/agents")
    .then((r) => {
      state.agents = r.items;
      renderAgents();
    })
    .catch((e) => toast(e.message, true));
  const aEmail = h("input", { type: "email", required: true, "data-test": "agent-email" });
  const aName = h("input", { type: "text", maxlength: 200, "data-test": "agent-name" });
  const aRole = h("select", { "data-test": "agent-role" }, h("option", { value: "agent" }, t("role_agent")), h("option", { value: "admin" }, t("role_admin")));
  const aPass = h("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password", "data-test": "agent-password" });
  const agents = h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { email: aEmail.value, role: aRole.value, password: aPass.value };
        if (aName.value.trim()) body.name = aName.value.trim();
        const a = await attempt(() => api("POST", "/api/v1/agents", body));
        if (!a) return;
        state.agents.push(a);
        renderAgents();
        aEmail.value = aName.value = aPass.value = "";
        toast(t("saved"));
      },
    },
    h("h2", {}, t("agents")),
    agentList,
    h("label", {}, t("email"), aEmail),
    h("label", {}, t("name"), aName),
    h("label", {}, t("role"), aRole),
    h("label", {}, t("password"), aPass),
    h("button", { type: "submit", "data-test": "create-agent" }, t("create_agent")),
  );
  append(main, h("h1", {}, t("nav_settings")), h("div", { class: "cards" }, timers, agents, channels, helpCenterCard(), labelsCard()));
  return null;
}

/** An admin's actions on another agent: disable or enable, end their
 * sessions, forget their failed sign-ins, set their password, delete. */
function agentActions(a, rerender) {
  const path = "/api/v1/agents/" + encodeURIComponent(a.id);
  const replace = (updated) => {
    state.agents = updated ? state.agents.map((x) => (x.id === a.id ? updated : x)) : state.agents.filter((x) => x.id !== a.id);
    rerender();
  };
  const setDisabled = async (disabled) => {
    const updated = await attempt(() => api("PATCH", path, { disabled }));
    if (updated) replace(updated);
  };
  const button = (label, test, onclick, cls) => h("button", { type: "button", class: "link " + (cls || ""), "data-test": test, onclick }, label);
  const name = a.name;
  return h(
    "span",
    { class: "row-actions" },
    " ",
    a.disabled
      ? button(t("agent_enable"), "agent-enable", () => setDisabled(false))
      : button(t("agent_disable"), "agent-disable", () =>
          openDialog(t("agent_disable"), h("p", { dir: "auto" }, t("agent_disable_confirm", { name })), [
            { label: t("agent_disable"), class: "danger", test: "agent-disable-confirm", action: () => setDisabled(true) },
          ]),
        ),
    " ",
    button(t("agent_end_sessions"), "agent-end-sessions", async () => {
      const r = await attempt(() => api("DELETE", path + "/sessions"));
      if (r) toast(t("agent_sessions_ended", { n: r.ended_sessions }));
    }),
    " ",
    button(t("agent_unlock"), "agent-unlock", async () => {
      const r = await attempt(() => api("DELETE", path + "/login-throttle"));
      if (r !== undefined) toast(t("agent_unlocked", { name }));
    }),
    " ",
    button(t("agent_set_password"), "agent-set-password", () => {
      const input = h("input", { type: "password", minlength: 8, autocomplete: "new-password", "data-test": "agent-new-password" });
      openDialog(t("agent_set_password"), h("div", {}, h("p", { dir: "auto" }, t("agent_password_hint", { name })), h("label", {}, t("new_password"), input)), [
        {
          label: t("save"),
          test: "agent-password-save",
          action: async () => {
            const r = await attempt(() => api("PUT", path + "/password", { password: input.value }));
            if (r) toast(t("agent_sessions_ended", { n: r.ended_sessions }));
          },
        },
      ]);
    }),
    " ",
    button(
      t("agent_delete"),
      "agent-delete",
      () =>
        openDialog(t("agent_delete"), h("p", { dir: "auto" }, t("agent_delete_confirm", { name })), [
          {
            label: t("agent_delete"),
            class: "danger",
            test: "agent-delete-confirm",
            action: async () => {
              const done = await attempt(() => api("DELETE", path));
              if (done !== undefined) replace(null);
            },
          },
        ]),
      "danger",
    ),
  );
}

/** Settings → Help Center: the address to give customers, where they sign
 * in with their e-mail (set on the case page) and see their requests. */
function helpCenterCard() {
  const url = location.origin + "/help/" + encodeURIComponent(state.me.account_id);
  const code = h("code", { id: "help-center-url", "data-test": "help-center-url" }, url);
  return h(
    "section",
    { class: "card help-center-card" },
    h("h2", {}, t("help_center")),
    h("p", { class: "hint" }, t("help_center_hint")),
    h(
      "div",
      { class: "snippet-box" },
      h("a", { href: url, target: "_blank", rel: "noopener" }, code),
      h("button", { type: "button", class: "secondary", id: "help-center-copy", onclick: () => copyText(code) }, t("copy")),
    ),
  );
}

/** Settings → Channels: the account's channels and a form to create one,
 * a messenger bridge (`api`) or the web chat widget (`widget`). A widget
 * channel shows the snippet for the site and its allowed sites; the
 * secrets (an api channel's inbound token, a widget's signing key) are
 * shown once, right after creation, and never kept in `state`. */
function channelsCard() {
  const list = h("ul", { class: "plain channel-list", id: "channel-list", "data-test": "channel-list" });
  const keep = (channel) => {
    const i = state.channels.findIndex((c) => c.id === channel.id);
    if (i < 0) state.channels.push(channel);
    else state.channels[i] = channel;
    render();
  };
  const render = () => {
    clear(list);
    for (const c of state.channels) list.appendChild(channelItem(c, keep));
  };
  render();

  const kind = h(
    "select",
    { id: "channel-kind", "data-test": "channel-kind", onchange: () => showKind() },
    h("option", { value: "api" }, t("kind_api")),
    h("option", { value: "widget" }, t("kind_widget")),
  );
  const name = h("input", { type: "text", id: "channel-name", required: true, maxlength: 200, "data-test": "channel-name", dir: "auto" });
  const hook = h("input", { type: "url", id: "channel-webhook", placeholder: "https://…", "data-test": "webhook-url" });
  const origins = h("textarea", {
    id: "channel-origins",
    "data-test": "channel-origins",
    rows: 3,
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "https://shop.example",
    "aria-describedby": "channel-origins-hint",
  });
  const hookField = h("label", {}, t("webhook_url"), hook);
  const originsField = h(
    "div",
    { class: "field" },
    h("label", { for: "channel-origins" }, t("allowed_sites")),
    origins,
    h("p", { class: "hint", id: "channel-origins-hint" }, t("allowed_sites_hint")),
  );
  const showKind = () => {
    const widget = kind.value === "widget";
    // A hidden field must not block the form with its own validation.
    hookField.hidden = hook.disabled = widget;
    originsField.hidden = origins.disabled = !widget;
  };
  showKind();
  const error = h("p", { class: "form-error", id: "channel-error", "data-test": "channel-error", role: "alert", hidden: true });
  const tokenBox = h("div", { class: "token-box", "data-test": "token-box", hidden: true });
  const create = h(
    "form",
    {
      class: "channel-new",
      onsubmit: async (e) => {
        e.preventDefault();
        const button = e.submitter || create.querySelector("button[type=submit]");
        if (button.disabled) return;
        const body = { kind: kind.value, name: name.value };
        if (kind.value === "api" && hook.value.trim()) body.webhook_url = hook.value.trim();
        if (kind.value === "widget") body.allowed_origins = originLines(origins.value);
        error.hidden = true;
        button.disabled = true;
        let created;
        try {
          created = await api("POST", "/api/v1/channels", body);
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
          return;
        } finally {
          button.disabled = false;
        }
        const { inbound_token: secret, ...channel } = created;
        keep(channel);
        name.value = hook.value = origins.value = "";
        clear(tokenBox);
        tokenBox.hidden = true;
        if (channel.kind === "widget") {
          widgetCreatedDialog(channel, secret);
          return;
        }
        append(
          tokenBox,
          h("p", {}, t("token_once", { name: channel.name })),
          h("code", { class: "secret", "data-test": "inbound-token" }, secret),
          h("p", {}, t("inbound_url"), " ", h("code", {}, inboundUrl(channel))),
        );
        tokenBox.hidden = false;
      },
    },
    h("h3", {}, t("new_channel")),
    h("label", {}, t("channel_kind"), kind),
    h("label", {}, t("channel_name"), name),
    hookField,
    originsField,
    error,
    h("div", {}, h("button", { type: "submit", id: "channel-create", "data-test": "create-channel" }, t("create_channel"))),
    tokenBox,
  );
  return h("section", { class: "card channels-card", "data-test": "channels-card" }, h("h2", {}, t("channels")), list, create);
}

function inboundUrl(channel) {
  return location.origin + "/api/v1/channels/" + channel.id + "/inbound";
}

/** The kind of a channel as admins read it. */
function channelKindLabel(kind) {
  return kind === "api" || kind === "widget" ? t("kind_" + kind) : kind;
}

/** Origins typed one per line; blank lines are skipped. The API checks
 * each and names the one it refuses. */
function originLines(text) {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** One channel in the Settings list. An api channel shows where its
 * events go in and out; a widget channel its snippet and allowed sites,
 * which `keep` receives once changed. */
function channelItem(c, keep) {
  const item = h(
    "li",
    { class: "channel-item", "data-id": c.id, "data-kind": c.kind, "data-test": "channel-item" },
    h(
      "div",
      { class: "channel-head" },
      h("strong", { class: "channel-name", dir: "auto" }, c.name),
      h("span", { class: "badge channel-kind kind-" + c.kind, "data-test": "channel-kind" }, channelKindLabel(c.kind)),
    ),
  );
  if (c.kind !== "widget") {
    append(item, h("code", {}, inboundUrl(c)), c.webhook_url ? h("div", { class: "muted" }, "→ ", c.webhook_url) : null);
    if (c.webhook_url) append(item, failedDeliveries(c));
    return item;
  }
  if (c.snippet) append(item, snippetBox(c.snippet));
  const sites = h("div", { class: "channel-sites-box" });
  const show = () => {
    clear(sites);
    append(
      sites,
      h(
        "div",
        { class: "channel-sites-head" },
        h("span", { class: "muted" }, t("allowed_sites")),
        h("button", { type: "button", class: "link edit-origins", "data-test": "edit-origins", "aria-label": t("edit_sites"), onclick: edit }, t("edit")),
      ),
      c.allowed_origins.length
        ? h("ul", { class: "channel-sites", "data-test": "channel-sites" }, c.allowed_origins.map((o) => h("li", {}, h("code", {}, o))))
        : h("p", { class: "hint channel-sites any-site", "data-test": "channel-sites" }, t("any_site")),
    );
  };
  const edit = () => {
    const input = h("textarea", {
      class: "origins-input",
      "data-test": "origins-input",
      rows: Math.max(3, c.allowed_origins.length + 1),
      spellcheck: "false",
      autocomplete: "off",
      placeholder: "https://shop.example",
      "aria-label": t("allowed_sites"),
    });
    input.value = c.allowed_origins.join("\n");
    // The API's refusal stays next to the field while it is being fixed.
    const error = h("p", { class: "form-error origins-error", "data-test": "origins-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "save-origins", "data-test": "save-origins" }, t("save"));
    const form = h(
      "form",
      {
        class: "origins-form",
        onsubmit: async (e) => {
          e.preventDefault();
          if (save.disabled) return;
          save.disabled = true;
          error.hidden = true;
          let updated;
          try {
            updated = await api("PATCH", "/api/v1/channels/" + encodeURIComponent(c.id), { allowed_origins: originLines(input.value) });
          } catch (err) {
            error.textContent = err.message;
            error.hidden = false;
            save.disabled = false;
            return;
          }
          keep(updated);
          toast(t("saved"));
        },
      },
      h("span", { class: "muted" }, t("allowed_sites")),
      input,
      h("p", { class: "hint" }, t("allowed_sites_hint")),
      error,
      h(
        "div",
        { class: "form-buttons" },
        save,
        h("button", { type: "button", class: "secondary cancel-origins", "data-test": "cancel-origins", onclick: show }, t("cancel")),
      ),
    );
    clear(sites).appendChild(form);
    input.focus();
  };
  show();
  return append(item, sites);
}

/** The replies a channel's webhook gave up on (dead letters), each with
 * its last error and a Redeliver button; hidden while there are none. A
 * redelivery goes to the channel's current webhook URL. */
function failedDeliveries(c) {
  const box = h("div", { class: "channel-deliveries", "data-test": "failed-deliveries", hidden: true });
  const load = async () => {
    const path = "/api/v1/channels/" + encodeURIComponent(c.id) + "/deliveries?state=failed&limit=20";
    const page = await attempt(() => api("GET", path));
    const items = (page && page.items) || [];
    clear(box);
    box.hidden = !items.length;
    if (!items.length) return;
    append(
      box,
      h("span", { class: "muted" }, t("deliveries_failed")),
      h(
        "ul",
        { class: "plain delivery-list" },
        items.map((d) =>
          h(
            "li",
            { class: "delivery", "data-id": d.id, "data-test": "failed-delivery" },
            h("div", { class: "delivery-head" }, h("span", {}, t("delivery_line", { time: fmtTime(d.failed_at), n: d.attempts })), redeliverButton(d)),
            d.last_error ? h("div", { class: "form-error delivery-error", dir: "auto" }, d.last_error) : null,
          ),
        ),
      ),
    );
  };
  const redeliverButton = (d) => {
    const button = h("button", { type: "button", class: "secondary redeliver", "data-test": "redeliver" }, t("redeliver"));
    button.addEventListener("click", async () => {
      if (button.disabled) return;
      button.disabled = true;
      const queued = await attempt(() => api("POST", "/api/v1/deliveries/" + encodeURIComponent(d.id) + "/redeliver"));
      if (!queued) {
        button.disabled = false;
        return;
      }
      toast(t("redelivered"));
      load();
    });
    return button;
  };
  load();
  return box;
}

/** The widget's snippet in a read-only, selectable box with a Copy button. */
function snippetBox(snippet) {
  const code = h("code", { class: "channel-snippet", "data-test": "channel-snippet" }, snippet);
  return h(
    "div",
    { class: "snippet-box" },
    h("pre", { class: "snippet", tabindex: 0, "aria-label": t("snippet_label") }, code),
    h("button", { type: "button", class: "secondary copy-snippet", "data-test": "copy-snippet", onclick: () => copyText(code) }, t("copy")),
  );
}

/** Copies an element's text. The text is selected first, so the admin sees
 * what was copied; where the page may not write to the clipboard (plain
 * http on another host, a refused permission) it stays selected for
 * Ctrl+C. */
async function copyText(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  if (navigator.clipboard && navigator.clipboard.writeText) {
    try {
      await navigator.clipboard.writeText(el.textContent);
      toast(t("copied"));
      return;
    } catch (_) {
      // Refused: fall back to the selection.
    }
  }
  toast(t("copy_by_hand"));
}

/** After a widget channel is created: the snippet to paste, and the
 * channel secret, which is never shown again. */
function widgetCreatedDialog(channel, secret) {
  const body = h(
    "div",
    { class: "widget-created", "data-test": "widget-created" },
    h("p", {}, t("snippet_paste")),
    snippetBox(channel.snippet || ""),
    h(
      "div",
      { class: "token-box" },
      h("p", {}, h("strong", {}, t("widget_secret"))),
      h("code", { class: "secret", "data-test": "widget-secret" }, secret),
      h("p", { class: "hint" }, t("widget_secret_hint")),
    ),
  );
  openDialog(t("widget_created", { name: channel.name }), body, [], { class: "snippet-dialog", closeLabel: t("done") });
}

/** Settings → Labels: the catalogue, with create, rename, recolour and
 * delete (after a confirmation: deleting takes the label off every case). */
function labelsCard() {
  const PALETTE = ["#2f5d9f", "#d9822b", "#2e7d32", "#8e44ad", "#c0392b", "#16a2b8", "#e6c766", "#6b7385"];
  const list = h("ul", { class: "plain label-admin-list", id: "label-list", "data-test": "label-list" });
  const keep = (label) => {
    state.labels = state.labels.filter((l) => l.id !== label.id).concat(label ? [label] : []);
    sortLabels();
    render();
  };
  const row = (l) => {
    const name = h("input", { type: "text", required: true, maxlength: 50, class: "label-name", "data-test": "label-name", "aria-label": t("name"), dir: "auto" });
    name.value = l.name;
    let recoloured = false;
    const color = h("input", {
      type: "color",
      class: "label-color",
      "data-test": "label-color",
      "aria-label": t("label_color"),
      value: l.color || "#eceff3",
      oninput: () => (recoloured = true),
    });
    const patch = async (body) => {
      const updated = await attempt(() => api("PATCH", "/api/v1/labels/" + encodeURIComponent(l.id), body));
      if (!updated) return;
      keep(updated);
      toast(t("saved"));
    };
    const remove = () =>
      openDialog(t("delete"), h("p", { dir: "auto" }, t("delete_label_confirm", { name: l.name })), [
        {
          label: t("delete"),
          class: "danger",
          id: "label-delete-confirm",
          test: "label-delete-confirm",
          action: async () => {
            const done = await attempt(() => api("DELETE", "/api/v1/labels/" + encodeURIComponent(l.id)));
            if (done === undefined) return;
            state.labels = state.labels.filter((x) => x.id !== l.id);
            render();
            toast(t("deleted"));
          },
        },
      ]);
    return h(
      "li",
      { class: "label-admin", "data-label-id": l.id, "data-test": "label-row" },
      h(
        "form",
        {
          onsubmit: (e) => {
            e.preventDefault();
            const body = {};
            if (name.value.trim() !== l.name) body.name = name.value;
            if (recoloured) body.color = color.value;
            if (Object.keys(body).length) patch(body);
          },
        },
        labelChip(l),
        name,
        color,
        l.color ? h("button", { type: "button", class: "link", "data-test": "label-clear-color", onclick: () => patch({ color: null }) }, t("clear_color")) : null,
        h("button", { type: "submit", class: "secondary", "data-test": "label-save" }, t("save")),
        h("button", { type: "button", class: "link danger", "data-test": "label-delete", onclick: remove }, t("delete")),
      ),
    );
  };
  const render = () => {
    clear(list);
    if (!state.labels.length) list.appendChild(h("li", { class: "muted" }, t("no_labels")));
    for (const l of state.labels) list.appendChild(row(l));
  };
  const newName = h("input", { type: "text", id: "label-new-name", required: true, maxlength: 50, "data-test": "label-new-name", dir: "auto" });
  const newColor = h("input", { type: "color", id: "label-new-color", "data-test": "label-new-color" });
  const nextColor = () => (newColor.value = PALETTE[state.labels.length % PALETTE.length]);
  nextColor();
  render();
  loadLabels().then(render);
  const create = h(
    "form",
    {
      class: "label-new",
      onsubmit: async (e) => {
        e.preventDefault();
        const label = await attempt(() => api("POST", "/api/v1/labels", { name: newName.value, color: newColor.value }));
        if (!label) return;
        keep(label);
        newName.value = "";
        nextColor();
        toast(t("saved"));
      },
    },
    h("label", { class: "grow" }, t("name"), newName),
    h("label", {}, t("label_color"), newColor),
    h("button", { type: "submit", id: "label-create", "data-test": "label-create" }, t("create_label")),
  );
  return h("section", { class: "card labels-card", "data-test": "labels-card" }, h("h2", {}, t("labels")), h("p", { class: "hint" }, t("labels_hint")), list, create);
}

// ------------------------------------------------------------------ profile

function profilePage(main) {
  const me = state.me;
  append(
    main,
    h("h1", {}, t("profile_title")),
    h(
      "dl",
      { class: "facts card", "data-test": "profile" },
      h("dt", {}, t("name")),
      h("dd", { dir: "auto" }, me.name),
      h("dt", {}, t("email")),
      h("dd", {}, me.email),
      h("dt", {}, t("role")),
      h("dd", {}, t("role_" + me.role)),
    ),
    h("p", { class: "hint" }, t("shortcuts")),
    passwordForm(me),
    h("button", { type: "button", "data-test": "logout-profile", onclick: logout }, t("logout")),
  );
}

/** Changing one's own password ends every session, this one too. */
function passwordForm(me) {
  const current = h("input", { type: "password", required: true, autocomplete: "current-password", "data-test": "own-current-password" });
  const input = h("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password", "data-test": "own-new-password" });
  return h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { password: input.value, current_password: current.value };
        const r = await attempt(() => api("PUT", "/api/v1/agents/" + encodeURIComponent(me.id) + "/password", body));
        if (!r) return;
        toast(t("password_changed"));
        state.me = null;
        state.customers.clear();
        showLogin();
      },
    },
    h("h2", {}, t("change_password")),
    h("label", {}, t("current_password"), current),
    h("label", {}, t("new_password"), input),
    h("button", { type: "submit", "data-test": "own-password-save" }, t("save")),
  );
}

// ------------------------------------------------------------------ start

async function start() {
  const [agents, channels, labels] = await Promise.all([
    api("GET", "/api/v1/agents"),
    api("GET", "/api/v1/channels"),
    api("GET", "/api/v1/labels"),
  ]);
  state.agents = agents.items;
  state.channels = channels.items;
  state.labels = labels.items;
  renderShell();
  connectEvents();
  await loadActive();
  route();
}

async function boot() {
  document.documentElement.lang = lang;
  try {
    state.me = await api("GET", "/api/v1/me");
  } catch (_) {
    state.me = null;
  }
  if (!state.me) {
    showLogin();
    return;
  }
  if (location.pathname !== "/") {
    location.replace("/" + (location.hash || "#/active"));
    return;
  }
  await attempt(start);
}

window.addEventListener("hashchange", () => route());
setInterval(() => {
  tickActive();
  if (state.page && state.page.tick) state.page.tick();
}, 1000);
boot();
